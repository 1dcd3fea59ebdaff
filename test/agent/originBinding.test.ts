// The origin-bound frame (src/login/originBinding.ts) and the service's content rule
// (src/login/origin.ts), byte by byte: what is framed, what is not, and which code each
// mismatch gets.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { originContentRule } from '../../src/login/origin.ts';
import { bindToOrigin, isSerializedOrigin, originOf, readOriginBound } from '../../src/login/originBinding.ts';
import { assertCode } from '../helpers/assertions.ts';

const encode = (text: string) => new TextEncoder().encode(text);
const challenge = 'Yagona ID sign-in\nservice: https://id.example.uz\nnonce: abc\nissued: 2026-11-27T09:00:00.000Z';
const own = 'https://id.example.uz';

describe('the frame', () => {
  test('names the origin on its own line before the challenge, and reads back', () => {
    const framed = bindToOrigin(own, challenge);
    assert.equal(framed, `Yagona ID origin-bound sign-in v1\norigin: https://id.example.uz\n${challenge}`);
    const read = readOriginBound(encode(framed));
    assert.equal(read?.origin, own);
    assert.deepEqual(read?.challenge, encode(challenge));
  });

  test('only serialized origins are framed: no path, no trailing slash, no opaque origin', () => {
    for (const bad of ['https://id.example.uz/', 'https://id.example.uz/login', 'HTTPS://ID.example.uz', 'null', 'file:///etc', 'https://a.example\nx']) {
      assert.equal(isSerializedOrigin(bad), false, bad);
      assert.throws(() => bindToOrigin(bad, challenge), TypeError);
    }
    assert.equal(originOf('https://id.example.uz:443/path?q'), own);
    assert.equal(originOf('http://127.0.0.1:8080/'), 'http://127.0.0.1:8080');
  });

  test('a plain challenge, a truncated frame or a frame with broken UTF-8 is not framed', () => {
    assert.equal(readOriginBound(encode(challenge)), undefined);
    assert.equal(readOriginBound(encode('Yagona ID origin-bound sign-in v1\norigin: https://id.example.uz')), undefined);
    const broken = new Uint8Array([...encode('Yagona ID origin-bound sign-in v1\norigin: '), 0xff, 0x0a, ...encode(challenge)]);
    assert.equal(readOriginBound(broken), undefined);
  });
});

describe('the service rule', () => {
  const bytes = encode(challenge);

  test('plain challenges keep the key-file rule: detached or equal, not origin-bound', () => {
    const detached = originContentRule(own, bytes);
    assert.deepEqual(detached.rule(undefined), bytes);
    assert.equal(detached.originBound(), false);
    const attached = originContentRule(own, bytes);
    assert.deepEqual(attached.rule(bytes), bytes);
    assert.equal(attached.originBound(), false);
    assertCode(() => originContentRule(own, bytes).rule(encode('something else')), 'signature_invalid');
  });

  test('framed for our origin and our challenge: accepted as origin-bound', () => {
    const content = encode(bindToOrigin(own, challenge));
    const rule = originContentRule(own, bytes);
    assert.deepEqual(rule.rule(content), content);
    assert.equal(rule.originBound(), true);
  });

  test('framed for another origin: challenge_invalid; around another challenge: signature_invalid', () => {
    for (const other of ['https://id.example.uz.evil.example', 'http://id.example.uz', 'https://id.example.uz:8443']) {
      assertCode(() => originContentRule(own, bytes).rule(encode(bindToOrigin(other, challenge))), 'challenge_invalid');
    }
    assertCode(() => originContentRule(own, bytes).rule(encode(bindToOrigin(own, `${challenge}x`))), 'signature_invalid');
  });

  test('a service without a known origin accepts no framed content', () => {
    assertCode(() => originContentRule(undefined, bytes).rule(encode(bindToOrigin(own, challenge))), 'challenge_invalid');
  });
});
