// The resolver integration's commands and the manual line (peer/dns/resolved.ts).
import { describe, expect, it } from 'vitest';
import { manualLine, resolvedCommands } from '../../../src/peer/dns/resolved.js';

describe('resolver integration', () => {
  it('per-link systemd-resolved: only ~mesh goes to the peer', () => {
    expect(resolvedCommands('meshd0', '10.9.0.2', 'mesh').map((a) => a.join(' '))).toEqual(['resolvectl dns meshd0 10.9.0.2', 'resolvectl domain meshd0 ~mesh']);
  });
  it('the one line for a forwarder without resolved', () => {
    expect(manualLine('10.9.0.2', 'mesh')).toBe('server=/mesh/10.9.0.2');
  });
});
