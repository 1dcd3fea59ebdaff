// The signing agent's release (agent/): the version it answers with at GET /v1/status, and the
// oldest the sign-in page works with. Kept apart from the PKCS#11 code so the page can bundle it.

/** This agent's version (semver); the packages of agent/package/ carry it. */
export const agentVersion = '1.1.0';

/**
 * The oldest agent the page signs with. 1.1.0 is the first that answers its version as a
 * string; an agent older than this is offered the download instead.
 */
export const minimumAgentVersion = '1.1.0';

/** Whether `version` (an agent's answer) is a semver at least `minimum`; anything else is too old. */
export function isRecentEnough(version: unknown, minimum: string = minimumAgentVersion): boolean {
  const parse = (text: unknown) => (typeof text === 'string' ? /^(\d+)\.(\d+)\.(\d+)$/.exec(text)?.slice(1).map(Number) : undefined);
  const have = parse(version);
  const need = parse(minimum);
  if (have === undefined || need === undefined) return false;
  for (let i = 0; i < 3; i += 1) {
    if (have[i] !== need[i]) return (have[i] as number) > (need[i] as number);
  }
  return true;
}
