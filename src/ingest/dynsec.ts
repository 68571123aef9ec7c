import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';

/**
 * Mosquitto's dynamic security plugin, driven over MQTT: commands are JSON published to
 * $CONTROL/dynamic-security/v1 and answered on …/response, matched here by correlationData.
 * The account used must hold the dynsec admin role (`mosquitto_ctrl dynsec init` creates one).
 */
const COMMAND_TOPIC = '$CONTROL/dynamic-security/v1';
const RESPONSE_TOPIC = `${COMMAND_TOPIC}/response`;

export interface DynsecCommand {
  command: string;
  [key: string]: unknown;
}

export interface DynsecResponse {
  command: string;
  error?: string;
  data?: Record<string, unknown>;
  correlationData?: string;
}

export class DynsecError extends Error {
  constructor(
    readonly command: string,
    readonly reason: string,
  ) {
    super(`dynamic security ${command} failed: ${reason}`);
  }
}

export interface DynsecClient {
  /** Runs the commands in order; resolves with each one's answer (error text unless done). */
  run(commands: DynsecCommand[]): Promise<DynsecResponse[]>;
  /** Publishes commands without waiting: for changes that disconnect this very account. */
  send(commands: DynsecCommand[]): Promise<void>;
  close(): Promise<void>;
}

export async function connectDynsec(o: { url: string; username: string | null; password: string | null; logger: Logger; timeoutMs?: number }): Promise<DynsecClient> {
  const log = o.logger.child({ component: 'dynsec' });
  const timeoutMs = o.timeoutMs ?? 10_000;
  // Loaded only when dynamic security is on: the MQTT client library costs 1–3 MiB of RSS that a
  // daemon on the embedded broker never needs.
  const { default: mqtt } = await import('mqtt');
  const client: MqttClient = mqtt.connect(o.url, {
    clientId: `gridmint-dynsec-${randomBytes(4).toString('hex')}`,
    ...(o.username ? { username: o.username } : {}),
    ...(o.password ? { password: o.password } : {}),
    clean: true,
    reconnectPeriod: 1_000,
    connectTimeout: timeoutMs,
  });
  const waiting = new Map<string, (r: DynsecResponse) => void>();
  client.on('message', (_topic, payload) => {
    let body: { responses?: DynsecResponse[] };
    try {
      body = JSON.parse(payload.toString('utf8')) as { responses?: DynsecResponse[] };
    } catch {
      return;
    }
    for (const r of body.responses ?? []) {
      const done = r.correlationData ? waiting.get(r.correlationData) : undefined;
      if (done) {
        waiting.delete(r.correlationData!);
        done(r);
      }
    }
  });
  client.on('error', (err) => log.warn({ err: err.message }, 'dynamic security connection error'));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`no connection to ${o.url.replace(/\/\/[^@/]*@/, '//')} for dynamic security`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      client.end(true);
      reject(err);
    };
    client.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    client.once('error', (err) => fail(new Error(`dynamic security login refused: ${err.message}`)));
  });
  await client.subscribeAsync(RESPONSE_TOPIC, { qos: 1 });

  return {
    async run(commands) {
      const tag = randomBytes(6).toString('hex');
      const tagged = commands.map((c, i) => ({ ...c, correlationData: `${tag}-${i}` }));
      const answers = tagged.map(
        (c) =>
          new Promise<DynsecResponse>((resolve, reject) => {
            const timer = setTimeout(() => {
              waiting.delete(c.correlationData);
              reject(new DynsecError(c.command, 'no answer from the broker (is the dynamic security plugin loaded and this account its admin?)'));
            }, timeoutMs);
            waiting.set(c.correlationData, (r) => {
              clearTimeout(timer);
              resolve(r);
            });
          }),
      );
      await client.publishAsync(COMMAND_TOPIC, JSON.stringify({ commands: tagged }), { qos: 1 });
      return Promise.all(answers);
    },
    async send(commands) {
      await client.publishAsync(COMMAND_TOPIC, JSON.stringify({ commands }), { qos: 1 });
    },
    close: () => client.endAsync(),
  };
}
