/** A real DNS server on loopback (dns2, UDP) answering TXT queries from a table the test fills. */
import dns2 from 'dns2';
import { afterAll, beforeAll } from 'vitest';
import { started } from './started.js';

export interface TestDns {
  /** `host:port` for ORGWAY_DNS_SERVERS. */
  server: string;
  /** name (lower-case, no trailing dot) → TXT values. */
  txt: Map<string, string[]>;
  close(): Promise<void>;
}

export const startDns = async (): Promise<TestDns> => {
  const txt = new Map<string, string[]>();
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = dns2.Packet.createResponseFromRequest(request);
      const [question] = request.questions;
      const name = question?.name.toLowerCase().replace(/\.$/, '') ?? '';
      if (question && question.type === dns2.Packet.TYPE.TXT)
        for (const value of txt.get(name) ?? [])
          // dns2's types want a Resource instance; its encoder takes plain records.
          response.answers.push({ name: question.name, type: dns2.Packet.TYPE.TXT, class: dns2.Packet.CLASS.IN, ttl: 1, data: value } as unknown as (typeof response.answers)[number]);
      send(response);
    },
  });
  const listening = server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  const addresses = (await listening) as { udp: { port: number } };
  return {
    server: `127.0.0.1:${addresses.udp.port}`,
    txt,
    close: async () => {
      await server.close();
    },
  };
};

/** A DNS server for the file (or describe block): listening before its tests, closed after them. */
export const useDns = (): TestDns => {
  const handle = started<TestDns>('useDns');
  beforeAll(async () => handle.set(await startDns()));
  afterAll(() => handle.current()?.close());
  return handle.value;
};
