import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy of the test's own, on 127.0.0.1 port 0, between a process under test and a
 * server (PostgreSQL): cutting it stands for the server going away, without touching the
 * shared server.
 *
 * - `reset`: every connection is reset at once and new ones are reset on arrival, as when the
 *   server is stopped or its host refuses connections;
 * - `blackhole`: nothing gets through in either direction and new connections hang, as when
 *   the network drops packets; nothing is lost, as with TCP retransmission: on `restore` what
 *   was held is delivered, and a side that gave up meanwhile is then closed on the other side.
 */
export type CutMode = 'reset' | 'blackhole';

interface Pair {
  readonly client: Socket;
  upstream: Socket | null;
  readonly toUpstream: Buffer[];
  readonly toClient: Buffer[];
  clientGone: boolean;
  upstreamGone: boolean;
}

export class TcpProxy {
  private mode: 'open' | CutMode = 'open';
  private readonly pairs = new Set<Pair>();
  private trigger: { pattern: Buffer; mode: CutMode } | null = null;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    let proxy: TcpProxy | null = null;
    const server = createServer((client) => proxy?.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy = new TcpProxy(server, (server.address() as AddressInfo).port, target);
    return proxy;
  }

  /** Connections currently relayed. */
  get connections(): number {
    return this.pairs.size;
  }

  /**
   * Cuts as soon as a client sends `pattern` (e.g. one statement of a transaction), before that
   * data gets through: the cut happens in the middle of the stream, at a known point.
   */
  cutWhen(pattern: string, mode: CutMode): void {
    this.trigger = { pattern: Buffer.from(pattern), mode };
  }

  cut(mode: CutMode): void {
    this.trigger = null;
    this.mode = mode;
    if (mode === 'reset') for (const pair of [...this.pairs]) this.drop(pair);
  }

  restore(): void {
    this.trigger = null;
    this.mode = 'open';
    for (const pair of [...this.pairs]) {
      if (pair.clientGone) {
        this.drop(pair);
        continue;
      }
      if (pair.upstreamGone) {
        this.drop(pair);
        continue;
      }
      if (!pair.upstream) this.connectUpstream(pair);
      else this.flush(pair);
    }
  }

  async close(): Promise<void> {
    for (const pair of [...this.pairs]) this.drop(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    client.on('error', () => {});
    if (this.mode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client, upstream: null, toUpstream: [], toClient: [], clientGone: false, upstreamGone: false };
    this.pairs.add(pair);
    client.on('data', (data: Buffer) => {
      if (this.trigger && data.includes(this.trigger.pattern)) this.cut(this.trigger.mode);
      if (!this.pairs.has(pair)) return;
      if (this.mode === 'open' && pair.upstream) pair.upstream.write(data);
      else pair.toUpstream.push(data);
    });
    client.on('close', () => {
      pair.clientGone = true;
      if (this.mode === 'open') this.drop(pair);
    });
    if (this.mode === 'open') this.connectUpstream(pair);
  }

  private connectUpstream(pair: Pair): void {
    const upstream = connect(this.target);
    pair.upstream = upstream;
    upstream.on('error', () => {});
    upstream.on('connect', () => this.flush(pair));
    upstream.on('data', (data: Buffer) => {
      if (this.mode === 'open') pair.client.write(data);
      else pair.toClient.push(data);
    });
    upstream.on('close', () => {
      pair.upstreamGone = true;
      if (this.mode === 'open') this.drop(pair);
    });
  }

  private flush(pair: Pair): void {
    if (this.mode !== 'open' || !pair.upstream || pair.upstream.connecting) return;
    for (const data of pair.toUpstream.splice(0)) pair.upstream.write(data);
    for (const data of pair.toClient.splice(0)) pair.client.write(data);
  }

  private drop(pair: Pair): void {
    this.pairs.delete(pair);
    if (!pair.client.destroyed) pair.client.resetAndDestroy();
    if (pair.upstream && !pair.upstream.destroyed) pair.upstream.resetAndDestroy();
  }
}
