// The sign-in page's one alert (#alert) and status line (#status), as each way in uses them
// (browser.ts, keyToken.ts, eimzo.ts): a problem read out and focused (WCAG 3.3.1, 4.1.3) with
// the input it is about marked, a line saying what is under way, the way's buttons held while it
// works. Each way keeps its own problem and status, so it can say them again in another language.

export interface PageStatusParts<Problem, Status> {
  /** The problem's sentence in the page's language now: text, or text and nodes (a link after it). */
  sentence: (problem: Problem) => string | Array<string | Node>;
  /** The status line's text in the page's language now. */
  statusText: (status: Status) => string;
  /** The inputs a problem can be about: the one it names is marked invalid, the others are cleared. */
  fields: readonly HTMLInputElement[];
  /** Disabled while busy. */
  buttons: readonly HTMLButtonElement[];
  /** aria-busy while busy. */
  forms: readonly HTMLElement[];
  /** Keeps the buttons disabled after the work is done (the sign-in finished). */
  done?: () => boolean;
}

export interface PageStatus<Problem, Status> {
  readonly busy: boolean;
  showProblem(problem: Problem, field?: HTMLInputElement): void;
  clearProblem(): void;
  setStatus(status: Status | undefined): void;
  setBusy(busy: boolean): void;
  /** The problem and the status again, in the page's language now (after a language switch). */
  redraw(): void;
}

export function pageStatus<Problem, Status>(parts: PageStatusParts<Problem, Status>): PageStatus<Problem, Status> {
  const alertBox = document.getElementById('alert');
  const statusLine = document.getElementById('status');
  let problem: Problem | undefined;
  let status: Status | undefined;
  let busy = false;

  const writeAlert = (shown: Problem) => alertBox?.replaceChildren(...[parts.sentence(shown)].flat());
  const writeStatus = () => {
    if (statusLine !== null) statusLine.textContent = status === undefined ? '' : parts.statusText(status);
  };
  const markInvalid = (field: HTMLInputElement | undefined) => {
    for (const input of parts.fields) {
      if (input === field) {
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-errormessage', 'alert');
      } else {
        input.removeAttribute('aria-invalid');
        input.removeAttribute('aria-errormessage');
      }
    }
  };

  return {
    get busy() { return busy; },
    showProblem(next, field) {
      problem = next;
      status = undefined;
      writeStatus();
      if (alertBox === null) return;
      writeAlert(next);
      alertBox.hidden = false;
      markInvalid(field);
      alertBox.focus();
    },
    clearProblem() {
      problem = undefined;
      markInvalid(undefined);
      if (alertBox === null) return;
      alertBox.hidden = true;
      alertBox.textContent = '';
    },
    setStatus(next) {
      status = next;
      writeStatus();
    },
    setBusy(next) {
      busy = next;
      for (const button of parts.buttons) button.disabled = next || (parts.done?.() ?? false);
      for (const form of parts.forms) form.setAttribute('aria-busy', String(next));
    },
    redraw() {
      if (problem !== undefined) writeAlert(problem);
      if (status !== undefined) writeStatus();
    },
  };
}
