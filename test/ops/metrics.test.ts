// The metrics endpoint scraped over loopback: values come from the sources at scrape time.
import { afterEach, describe, expect, it } from 'vitest';
import { parseMetricsListen, startMetrics, type MetricsServer, type TrafficSample } from '../../src/ops/metrics.js';

const open: MetricsServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function get(m: MetricsServer, path: string, method = 'GET'): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(`http://${m.address.address}:${m.address.port}${path}`, { method });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

/** The sample lines (no # HELP / # TYPE) of one metric family. */
function samples(body: string, name: string): string[] {
  return body.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('metrics', () => {
  it('exports the peer counters, read at scrape time', async () => {
    const traffic: TrafficSample[] = [
      { peer: 'b', direction: 'out', path: 'direct', packets: 10, bytes: 1400 },
      { peer: 'b', direction: 'in', path: 'relay', packets: 3, bytes: 300 },
    ];
    const drops: Record<string, number> = { no_path: 2, queue_full: 0 };
    const m = await startMetrics({ address: '127.0.0.1', port: 0 }, {
      traffic: () => traffic,
      drops: () => drops,
      handshakes: () => ({ ok: 4, bad_mac: 1 }),
      punchAttempts: () => ({ direct: 2, failed: 1 }),
      kcpRetransmits: () => ({ b: 7 }),
    });
    open.push(m);
    expect(m.address.port).toBeGreaterThan(0);

    const first = await get(m, '/metrics');
    expect(first.status).toBe(200);
    expect(first.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(first.body).toContain('# TYPE meshd_packets_total counter');
    expect(samples(first.body, 'meshd_packets_total')).toEqual([
      'meshd_packets_total{peer="b",direction="out",path="direct"} 10',
      'meshd_packets_total{peer="b",direction="in",path="relay"} 3',
    ]);
    expect(samples(first.body, 'meshd_bytes_total')).toEqual([
      'meshd_bytes_total{peer="b",direction="out",path="direct"} 1400',
      'meshd_bytes_total{peer="b",direction="in",path="relay"} 300',
    ]);
    expect(samples(first.body, 'meshd_drops_total')).toEqual(['meshd_drops_total{reason="no_path"} 2', 'meshd_drops_total{reason="queue_full"} 0']);
    expect(samples(first.body, 'meshd_handshakes_total')).toEqual(['meshd_handshakes_total{result="ok"} 4', 'meshd_handshakes_total{result="bad_mac"} 1']);
    expect(samples(first.body, 'meshd_punch_attempts_total')).toEqual(['meshd_punch_attempts_total{outcome="direct"} 2', 'meshd_punch_attempts_total{outcome="failed"} 1']);
    expect(samples(first.body, 'meshd_kcp_retransmits_total')).toEqual(['meshd_kcp_retransmits_total{peer="b"} 7']);
    expect(first.body).not.toContain('meshd_hub_');

    // The daemon's counters move; the next scrape shows them, not a sum with the last scrape.
    traffic[0] = { ...traffic[0]!, packets: 25, bytes: 3500 };
    drops.no_path = 5;
    const second = await get(m, '/metrics');
    expect(samples(second.body, 'meshd_packets_total')[0]).toBe('meshd_packets_total{peer="b",direction="out",path="direct"} 25');
    expect(samples(second.body, 'meshd_bytes_total')[0]).toBe('meshd_bytes_total{peer="b",direction="out",path="direct"} 3500');
    expect(samples(second.body, 'meshd_drops_total')[0]).toBe('meshd_drops_total{reason="no_path"} 5');
  });

  it('exports the hub counters', async () => {
    let registered = 3;
    const m = await startMetrics({ address: '127.0.0.1', port: 0 }, { hubRelayBytes: () => 123456, hubRegisteredPeers: () => registered });
    open.push(m);
    let body = (await get(m, '/metrics')).body;
    expect(body).toContain('# TYPE meshd_hub_relay_bytes_total counter');
    expect(body).toContain('# TYPE meshd_hub_registered_peers gauge');
    expect(samples(body, 'meshd_hub_relay_bytes_total')).toEqual(['meshd_hub_relay_bytes_total 123456']);
    expect(samples(body, 'meshd_hub_registered_peers')).toEqual(['meshd_hub_registered_peers 3']);
    registered = 2;
    body = (await get(m, '/metrics')).body;
    expect(samples(body, 'meshd_hub_registered_peers')).toEqual(['meshd_hub_registered_peers 2']);
    expect(body).not.toContain('meshd_packets_total');
  });

  it('answers other paths and methods without crashing, and 500 when a source throws', async () => {
    const m = await startMetrics({ address: '127.0.0.1', port: 0 }, {
      drops: () => {
        throw new Error('bug');
      },
    });
    open.push(m);
    expect((await get(m, '/')).status).toBe(200);
    expect((await get(m, '/nope')).status).toBe(404);
    expect((await get(m, '/metrics', 'POST')).status).toBe(405);
    expect((await get(m, '/metrics')).status).toBe(500);
    expect((await get(m, '/')).status).toBe(200);
  });

  it('reports a port in use as METRICS_LISTEN naming --metrics', async () => {
    const m = await startMetrics({ address: '127.0.0.1', port: 0 }, {});
    open.push(m);
    await expect(startMetrics(m.address, {})).rejects.toMatchObject({ code: 'METRICS_LISTEN', message: `--metrics 127.0.0.1:${m.address.port}: cannot listen: EADDRINUSE` });
  });

  it('parseMetricsListen takes ip:port', () => {
    expect(parseMetricsListen('127.0.0.1:9101')).toEqual({ address: '127.0.0.1', port: 9101 });
  });

  it.each(['127.0.0.1:0', '9101', 'localhost:9101', '127.0.0.1:0x10', '127.0.0.1:70000', ''])('parseMetricsListen refuses %j with a ConfigError on --metrics', (s) => {
    expect(() => parseMetricsListen(s)).toThrow(expect.objectContaining({ code: 'CONFIG', option: '--metrics' }));
  });
});
