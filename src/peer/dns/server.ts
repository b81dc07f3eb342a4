// The peer's DNS responder (issue 23): one UDP socket on the overlay address, port 53, answering
// from a name table the daemon rebuilds on every map change (answer.ts). Counts outcomes for status.
import type { Endpoint, UdpSocket } from '../../net/udp.js';
import type { Logger } from '../../util/log.js';
import { answerDns, type DnsOutcome, type NameTable } from './answer.js';

export interface DnsServerOptions {
  domain: string;
  log: Logger;
  /** Opens the socket (udp-open.ts in the daemon, a memory twin in tests). */
  open(bind: Endpoint): Promise<UdpSocket>;
}

export class DnsServer {
  readonly counts: Record<DnsOutcome, number> = { answered: 0, nodata: 0, nxdomain: 0, refused: 0, formerr: 0, notimp: 0, malformed: 0 };
  names: NameTable = new Map();
  private socket: UdpSocket | undefined;
  listen: string | undefined;

  constructor(private readonly o: DnsServerOptions) {}

  /** Binds address:53; false (logged) when it cannot, e.g. another DNS server holds the port. */
  async start(address: string, port = 53): Promise<boolean> {
    try {
      const s = (this.socket = await this.o.open({ address, port }));
      s.onMessage((data, from) => {
        const r = answerDns(data, this.o.domain, this.names);
        this.counts[r.outcome]++;
        if (r.reply) s.send(r.reply, from);
      });
      this.listen = `${address}:${port}`;
      this.o.log.info({ listen: this.listen, domain: this.o.domain }, 'dns: answering NAME.' + this.o.domain);
      return true;
    } catch (e) {
      this.o.log.warn({ err: String(e), address, port }, 'dns: cannot listen; names are not served (--dns-domain off to silence)');
      return false;
    }
  }

  async close(): Promise<void> {
    await this.socket?.close();
    this.socket = undefined;
  }
}
