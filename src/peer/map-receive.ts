// The peer's receiving end of the hub's MAP: assembles a version's parts (each ACKed by
// peer/hub-client.ts before it gets here), applies the whole map or a delta to the PeerMap, hands
// the events on, and asks for a repair when a delta does not follow the version held. No I/O: the
// repair request is the hub client's heartbeat, given as a callback.
import type { Logger } from '../util/log.js';
import type { ControlMessage, ControlType, MapEntry } from '../wire/control.js';
import type { MapEvent, PeerMap } from './peer-map.js';

export class MapReceiver {
  private readonly assembling = new Map<string, { parts: Array<MapEntry[] | undefined>; left: number }>();
  private mapHandler: ((ev: MapEvent[]) => void) | undefined;

  constructor(
    private readonly map: PeerMap,
    private readonly log: Logger,
    private readonly repair: () => void,
  ) {}

  onMapEvents(h: (ev: MapEvent[]) => void): void {
    this.mapHandler = h;
  }

  /** Drops half-assembled maps (the hub changed: its REGISTER_OK brings the whole map). */
  clear(): void {
    this.assembling.clear();
  }

  onMapPart(msg: Extract<ControlMessage, { type: ControlType.MAP }>): void {
    const id = `${msg.version}:${msg.base}`;
    let a = this.assembling.get(id);
    if (!a) {
      a = { parts: new Array<MapEntry[] | undefined>(msg.parts).fill(undefined), left: msg.parts };
      this.assembling.set(id, a);
    }
    if (a.parts.length !== msg.parts || a.parts[msg.part] !== undefined) return;
    a.parts[msg.part] = msg.entries;
    if (--a.left > 0) return;
    this.assembling.delete(id);
    // Parts of older versions can never complete usefully now.
    for (const k of this.assembling.keys()) if (Number(k.split(':')[0]) <= msg.version) this.assembling.delete(k);
    const entries = a.parts.flatMap((p) => p ?? []);
    const map = this.map;
    if (msg.base === 0) {
      this.emit(map.applyFull(msg.version, entries));
      return;
    }
    const r = map.applyDelta(msg.base, msg.version, entries);
    if ('applied' in r) this.emit(r.applied);
    else if ('gap' in r) {
      this.log.debug({ have: map.version, base: msg.base }, 'hub-client: map gap; asking for repair');
      this.repair();
    }
  }

  private emit(ev: MapEvent[]): void {
    if (ev.length > 0) this.mapHandler?.(ev);
  }
}
