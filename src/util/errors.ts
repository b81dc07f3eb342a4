// Named error classes for the control plane. Callers and tests match on `code`, never on message text.
// The data path never throws these out of a socket handler: it drops and counts instead.

export class MeshdError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A datagram or field that does not decode. The only error a codec throws. */
export class DecodeError extends MeshdError {
  constructor(message: string, code = 'DECODE') {
    super(code, message);
  }
}

/** A bad flag, config key or value. The message names the option. */
export class ConfigError extends MeshdError {
  readonly option: string;
  constructor(option: string, message: string) {
    super('CONFIG', `${option}: ${message}`);
    this.option = option;
  }
}

/** A handshake refused; `code` names the reason (e.g. HANDSHAKE_BAD_MAC, HANDSHAKE_REPLAY). */
export class HandshakeError extends MeshdError {}

/** TUN device failures; `code` is TUN_NO_DEVICE, TUN_PERMISSION, TUN_BUSY, TUN_BAD_ADDRESS, TUN_IO... */
export class TunError extends MeshdError {}
