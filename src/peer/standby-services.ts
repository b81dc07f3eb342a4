// Several hubs (issue 24 item 3): a hub other than home (our standby) forwards visitors of our
// published services that arrived there: STREAM_OPEN and STREAM on its session. They go to the
// service manager with that hub as the way back (publish/service-manager.ts OtherHub), so our
// services answer on both sessions. Anything else from a hub other than home is dropped, as before.
import type { Link, RemoteNode } from '../link/link.js';
import type { ServiceManager } from '../publish/service-manager.js';
import { DecodeError } from '../util/errors.js';
import { ControlType, decodeControl, encodeControl } from '../wire/control.js';
import { encodeInner, InnerKind, type InnerMessage } from '../wire/inner.js';

/** Handles one message from a hub other than home; `malformed` counts an undecodable control. */
export function standbyServiceMessage(services: ServiceManager | undefined, link: Link, r: RemoteNode, inner: InnerMessage, malformed: () => void): void {
  if (!services) return;
  const via = { id: r.id, sendInner: (b: Uint8Array) => void link.send(r.publicKey, b) };
  if (inner.kind === InnerKind.STREAM) return services.onStream(inner, via);
  if (inner.kind !== InnerKind.CONTROL || inner.body[0] !== ControlType.STREAM_OPEN) return;
  let msg;
  try {
    msg = decodeControl(inner.body);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return malformed();
  }
  if (msg.type !== ControlType.STREAM_OPEN) return malformed();
  const ack = (seq: number) => via.sendInner(encodeInner({ kind: InnerKind.CONTROL, body: encodeControl({ type: ControlType.ACK, seq }) }));
  services.onControl(msg, ack, via);
}
