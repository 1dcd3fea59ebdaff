// BER as CMS producers write it (X.690 §8.1.3.6 indefinite lengths, §8.7.3 constructed OCTET
// STRINGs), for tests and tools that must make what E-IMZO sends. The verifier never writes BER.
import { type DerNode, parseDer } from '../asn1/der.ts';
import { concat, octetString } from '../asn1/derWrite.ts';

/** A constructed value with an indefinite length: the identifier, 0x80, the contents, 00 00. */
export function indefinite(tag: number, ...contents: Uint8Array[]): Uint8Array {
  return concat(Uint8Array.of(tag, 0x80), ...contents, Uint8Array.of(0, 0));
}

/** An OCTET STRING as an indefinite constructed value of `chunk`-byte segments. */
export function constructedOctetString(value: Uint8Array, chunk: number): Uint8Array {
  const segments: Uint8Array[] = [];
  for (let at = 0; at < value.length; at += chunk) segments.push(octetString(value.subarray(at, at + chunk)));
  return indefinite(0x24, ...segments);
}

/**
 * A DER ContentInfo with SignedData re-encoded as E-IMZO writes it: every constructed value of
 * the outer structure with an indefinite length, attached content as a constructed OCTET
 * STRING of `chunk`-byte segments; the certificates and each SignerInfo's fields stay as they
 * were (the signatures cover their DER).
 */
export function berSignedData(contentInfo: Uint8Array, chunk = 1000): Uint8Array {
  const [type, wrapper] = parseDer(contentInfo).children as [DerNode, DerNode];
  const signedData = wrapper.children[0]!;
  const last = signedData.children.length - 1;
  const fields = signedData.children.map((field, index) => {
    if (index === 2) {
      const [eContentType, eContent] = field.children as [DerNode, DerNode | undefined];
      const wrapped = eContent === undefined ? [] : [indefinite(0xa0, constructedOctetString(eContent.children[0]!.content, chunk))];
      return indefinite(0x30, eContentType.bytes, ...wrapped);
    }
    if (field.tag === 0xa0 && index > 2) return indefinite(0xa0, ...field.children.map((certificate) => certificate.bytes));
    if (index === last) return indefinite(0x31, ...field.children.map((signerInfo) => indefinite(0x30, ...signerInfo.children.map((part) => part.bytes))));
    return field.bytes;
  });
  return indefinite(0x30, type.bytes, indefinite(0xa0, indefinite(0x30, ...fields)));
}
