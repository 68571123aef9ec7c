import mqttPacket from 'mqtt-packet';

// mqtt-packet's writer, on its first packet with an id (a PUBACK), fills a cache of 65,536
// two-byte Buffers, one per packet id, kept for the life of the process: ≈7 MiB of the daemon's
// heap (issue 11, memory budget). Without it each PUBACK allocates its two bytes from Node's buffer
// pool, which costs nothing measurable beside the rest of a reading's path. Both MQTT transports
// (aedes writes through the same mqtt-packet) import this before their first write.
mqttPacket.writeToStream.cacheNumbers = false;
