// PEM (RFC 7468) for tests that hand files to openssl, the service or the admin CLI: base64 in
// 64-character lines between BEGIN and END lines. Written here rather than with the issuing
// code's toPem, so what a test gives the code under test is not made by that code.

export function pem(der: Uint8Array, label = 'CERTIFICATE'): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

/** The DER of the first PEM block in `text`. */
export function pemToDer(text: string): Uint8Array {
  const block = /-----BEGIN [A-Z0-9 ]+-----([\s\S]*?)-----END [A-Z0-9 ]+-----/.exec(text);
  if (block === null) throw new TypeError('no PEM block');
  return new Uint8Array(Buffer.from((block[1] ?? '').replace(/\s+/g, ''), 'base64'));
}
