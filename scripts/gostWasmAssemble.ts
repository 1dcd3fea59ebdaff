// The fast GOST verifier's field arithmetic (src/pki/algorithms/gost/fast/fieldWat.ts) assembled by wabt (a development dependency): used by scripts/gostWasm.ts to
// write fieldWasm.ts and by its test to check that the committed module is this one.
import { fieldWat } from '../src/pki/algorithms/gost/fast/fieldWat.ts';

export async function assembleFieldWasm(): Promise<Uint8Array> {
  const { default: loadWabt } = await import('wabt');
  const wabt = await loadWabt();
  const module = wabt.parseWat('gost-field.wat', fieldWat());
  try {
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}
