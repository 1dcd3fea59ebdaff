// `admin audit verify` and `admin audit tail [-n N]`: the hash-chained audit log. verify walks
// the whole chain and names the first row that was edited, inserted or deleted; a broken
// chain exits non-zero so a cron job or a CI step notices.
import type { AuditRecord } from '../stores/types.ts';
import { defineCommand, onRun, type RegisterCommand } from './command.ts';
import { withDatabase } from './environment.ts';
import { count } from './revocations.ts';

export class AuditChainBroken extends Error {
  override name = 'AuditChainBroken';
}

export const registerAudit: RegisterCommand = (program, io) => {
  const audit = program.command('audit').description('the tamper-evident audit log');

  const verify = defineCommand(audit, 'verify', 'check the hash chain; names the first bad row');
  onRun<{ json?: boolean }>(verify, io, async (options) => withDatabase(io, async (db) => {
    const result = await db.audit.verifyChain();
    if (!result.ok) {
      // --json still gets its document on stdout, then the failure line and exit status.
      if (options.json === true) io.out(`${JSON.stringify(result, null, 2)}\n`);
      throw new AuditChainBroken(`audit chain broken at row ${result.firstBadId}: ${result.reason}`);
    }
    const head = (await db.audit.tail(1))[0];
    return {
      json: { ...result, headId: head?.id ?? null, headHash: head?.hash ?? null },
      text: `Audit chain intact: ${result.rows} rows${head === undefined ? '' : `, head ${head.id} ${head.hash}`} (keep the head hash elsewhere: it also proves no row was cut off the end).`,
    };
  }));

  const tail = defineCommand(audit, 'tail', 'the last audit events, oldest first')
    .option('-n, --lines <n>', 'how many', count, 20);
  onRun<{ lines: number }>(tail, io, async (options) => withDatabase(io, async (db) => {
    const records = await db.audit.tail(options.lines);
    return { json: records.map(view), text: records.length === 0 ? 'The audit log is empty.' : records.map(line).join('\n') };
  }));
};

const view = (record: AuditRecord) => ({ ...record, at: record.at.toISOString() });

// One line per event; JSON.stringify escapes control characters, so a crafted subject or
// detail cannot forge a line of its own (docs/security-cases.md #132).
function line(record: AuditRecord): string {
  const parts = [
    String(record.id).padStart(6), record.at.toISOString(), record.type, record.outcome,
    record.code === undefined ? '' : `code=${record.code}`,
    record.actor === undefined ? '' : `actor=${JSON.stringify(record.actor)}`,
    record.subject === undefined ? '' : `sub=${JSON.stringify(record.subject)}`,
    record.certificateSha256 === undefined ? '' : `cert=${record.certificateSha256.slice(0, 16)}…`,
    record.requestId === undefined ? '' : `req=${JSON.stringify(record.requestId)}`,
    record.details === undefined ? '' : JSON.stringify(record.details),
  ];
  return parts.filter((part) => part !== '').join('  ');
}
