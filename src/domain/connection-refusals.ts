/**
 * Why the embedded broker closed a connection before or instead of serving it. A metric label
 * (`gridmint_mqtt_connections_refused_total{reason}`), so a fixed set: add, never rename.
 */
export const REFUSAL_REASONS = ['max_connections', 'unauthenticated_per_ip', 'packet_too_large', 'malformed_packet', 'pre_connect_bytes', 'connect_timeout'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];
