# syntax=docker/dockerfile:1
# gridmint daemon image. Multi-stage: the toolchain for native addons stays in the build stage;
# the runtime stage holds only production dependencies and the compiled daemon (dist/), and runs
# as `node` on plain JavaScript (no TypeScript loader at run time; stack traces still name
# src/ lines, through dist/*.js.map). No secret is ever copied into an image: everything sensitive
# comes from the environment at run time (see .env.example), and generated keys live in the
# DATA_DIR volume.
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
# Native addons (bufferutil, utf-8-validate, bigint-buffer) may compile from source.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# What package-lock.json pins. The full install runs `prepare` (tsc → dist/), which needs the dev
# dependencies; they are pruned afterwards (typescript, tsx, vitest, autocannon).
# `npm install`, not `npm ci`: npm 11's ci rejects this lock because litesvm's per-platform
# optional packages are (correctly) not all recorded in it; install honours the lock just the same.
RUN npm install --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=3000 \
    DATA_DIR=/var/lib/gridmint
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
COPY --from=deps /app/dist ./dist
COPY migrations ./migrations
COPY config/default.json ./config/default.json
# The application files stay owned by root (read-only for the daemon); only DATA_DIR is writable.
RUN mkdir -p /var/lib/gridmint \
 && chown node:node /var/lib/gridmint \
 && chmod 0750 /var/lib/gridmint
USER node
VOLUME ["/var/lib/gridmint"]
# HTTP API + /metrics; 1883 only matters when the embedded broker is used (no MQTT_URL).
EXPOSE 3000 1883
# Ready = database and broker reachable. Node 20 has fetch, so no curl in the image.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || 3000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The same V8 heap flags as `npm start` (see README "Memory"): a small heap-growth factor keeps the
# daemon's peak RSS near its live set instead of letting garbage pile up to several times it.
ENTRYPOINT ["node", "--max-old-space-size=256", "--max-semi-space-size=8", "bin/gridmint.js"]
CMD ["start"]
