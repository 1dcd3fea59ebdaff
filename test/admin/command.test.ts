// The pieces every operator command is built from: --json output, confirmation, --operator,
// and the one-line error text.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { Command } from 'commander';
import { confirm, defineCommand, errorLine, onRun, stateChanging, type AdminIo } from '../../src/admin/command.ts';
import { ProblemError } from '../../src/client/signIn.ts';
import { ServiceError } from '../../src/errors.ts';

function fakeIo(interactive: boolean, answer = ''): AdminIo & { output: string[]; questions: string[] } {
  const output: string[] = [];
  const questions: string[] = [];
  return {
    output,
    questions,
    interactive,
    out: (text) => void output.push(text),
    err: (text) => void output.push(`stderr:${text}`),
    ask: async (question) => {
      questions.push(question);
      return answer;
    },
  };
}

// A state-changing command like `revoke` will be: asks, then reports who acted.
function program(io: AdminIo): Command {
  const root = new Command('admin').exitOverride();
  const command = stateChanging(defineCommand(root, 'change', 'change something'));
  onRun<{ yes?: boolean; operator: string }>(command, io, async (options) => {
    await confirm(io, options, 'Change it?');
    return { json: { operator: options.operator }, text: `changed by ${options.operator}` };
  });
  return root;
}

describe('admin command helpers', () => {
  it('prints text, or one JSON document with --json; --operator defaults to the login name', async () => {
    const io = fakeIo(false);
    await program(io).parseAsync(['change', '--yes'], { from: 'user' });
    await program(io).parseAsync(['change', '--yes', '--json', '--operator', 'aziz'], { from: 'user' });
    assert.deepEqual(io.output, [`changed by ${userInfo().username}\n`, '{\n  "operator": "aziz"\n}\n']);
    assert.deepEqual(io.questions, []);
  });

  it('asks on a terminal and goes ahead only on yes', async () => {
    const yes = fakeIo(true, 'y');
    await program(yes).parseAsync(['change'], { from: 'user' });
    assert.deepEqual(yes.questions, ['Change it? [y/N] ']);
    assert.equal(yes.output.length, 1);

    const no = fakeIo(true, '');
    await assert.rejects(program(no).parseAsync(['change'], { from: 'user' }), /^Error: cancelled: nothing was changed$/);
    assert.deepEqual(no.output, []);
  });

  it('refuses without a terminal and without --yes', async () => {
    const io = fakeIo(false);
    await assert.rejects(program(io).parseAsync(['change', '--json'], { from: 'user' }), /Refusing without a terminal: pass --yes/);
    assert.deepEqual(io.output, []);
  });

  it('turns any failure into one line', () => {
    assert.equal(errorLine(new ServiceError('invalid_request', 'wrong password or damaged key file')), 'invalid_request: wrong password or damaged key file');
    assert.equal(errorLine(new ProblemError('certificate_revoked', 'revoked', 403)), 'certificate_revoked: revoked');
    assert.equal(errorLine(new Error('first\n  second')), 'error: first second');
    assert.equal(errorLine('plain'), 'error: plain');
  });
});
