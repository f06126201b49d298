import type { Ivr, Menu, MenuAction } from '../ivr/schema.js';
import type { CallLifecycle } from './lifecycle.js';

/** Says a line; resolves once it was played out (or cut off). */
type Say = (text: string) => Promise<unknown>;

const TRANSFER_FAILED_LINE = 'Sorry, the transfer did not go through.';

export interface IvrHooks {
  say: Say;
  /** The mode's agent takes the call over from the menu, told what the caller chose. */
  handToAgent?: (context: string) => void;
}

interface Collecting {
  action: MenuAction;
  key: string;
  spec: NonNullable<MenuAction['collect']>;
  digits: string;
}

/** Digits as espeak-ng should say them: one by one, not as a number. */
const spoken = (digits: string) => [...digits].join(' ');

/**
 * One call's IVR: the menu the caller is in, keys collected, the no-input timer and retries.
 * Keys come from press(); actions run in their order (collect, say, webhook, then one of go_to,
 * transfer, hangup, agent or repeat). State changes at the key press, before anything is said,
 * so a key pressed while a line plays lands in the menu the caller was sent to.
 */
export class IvrRunner {
  #menuName = 'main';
  #retries = 0;
  #collecting: Collecting | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Bumped by every key: what a stale key's action would still say or arm is skipped. */
  #turn = 0;
  #handedOver = false;

  constructor(
    private readonly call: CallLifecycle,
    private readonly ivr: Ivr | undefined,
    private readonly hooks: IvrHooks,
  ) {}

  /** True while the menu takes the keys (a menu is set and the agent has not taken over). */
  get active(): boolean {
    return this.ivr !== undefined && !this.#handedOver && !this.call.ended;
  }

  /** The menu the caller is in. */
  get menuName(): string {
    return this.#menuName;
  }

  /** Arms the top menu's no-input timer once `played` (the greeting with the menu) is over. */
  start(played: Promise<unknown> = Promise.resolve()): void {
    if (!this.active) return;
    const turn = this.#turn;
    void played.then(() => turn === this.#turn && this.#armMenuTimer());
  }

  /** A key pressed; false when no menu takes it (the mode does what it does without one). */
  press(digit: string): boolean {
    if (!this.active) return false;
    this.#turn++;
    this.call.cancel(this.#timer);
    if (this.#collecting) {
      this.#collectKey(digit);
      return true;
    }
    const action = this.#menu.options[digit];
    if (!action) {
      void this.#invalid();
      return true;
    }
    this.#retries = 0;
    void this.#run(action, digit);
    return true;
  }

  get #menu(): Menu {
    const ivr = this.ivr!;
    return this.#menuName === 'main' ? ivr : (ivr.menus[this.#menuName] ?? ivr);
  }

  async #invalid(): Promise<void> {
    const turn = this.#turn;
    if (this.#spendRetry()) return;
    await this.hooks.say(this.#menu.invalid);
    if (turn === this.#turn) this.#armMenuTimer();
  }

  /** Counts a retry; true when none was left and the menu's on_fail took over. */
  #spendRetry(): boolean {
    if (++this.#retries <= this.#menu.retries) return false;
    this.#retries = 0;
    this.#collecting = undefined;
    const fail = this.#menu.on_fail;
    if (fail) void this.#run(fail, '');
    return true;
  }

  #armMenuTimer(): void {
    const seconds = this.#menu.timeout_seconds;
    if (!seconds || !this.active || this.#collecting) return;
    this.call.cancel(this.#timer);
    this.#timer = this.call.later(seconds * 1000, () => void this.#noInput());
  }

  async #noInput(): Promise<void> {
    if (!this.active || this.call.held) return;
    const turn = ++this.#turn;
    if (this.#spendRetry()) return;
    const menu = this.#menu;
    void this.hooks.say(menu.no_input);
    await this.hooks.say(menu.prompt);
    if (turn === this.#turn) this.#armMenuTimer();
  }

  /** Runs an action from the top: collect first (the rest waits for the digits). */
  async #run(action: MenuAction, key: string): Promise<void> {
    if (action.collect) {
      const collecting = { action, key, spec: action.collect, digits: '' };
      this.#collecting = collecting;
      await this.#askForDigits(collecting);
      return;
    }
    await this.#finishAction(action, key, '');
  }

  async #askForDigits(collecting: Collecting): Promise<void> {
    const turn = this.#turn;
    await this.hooks.say(collecting.spec.prompt);
    if (turn === this.#turn && this.#collecting === collecting) this.#armDigitTimer(collecting);
  }

  #armDigitTimer(collecting: Collecting): void {
    this.call.cancel(this.#timer);
    this.#timer = this.call.later(collecting.spec.timeout_seconds * 1000, () => {
      if (this.#collecting !== collecting || this.call.held) return;
      this.#turn++;
      // Keys pressed and no fixed length: what was pressed is the answer.
      if (collecting.digits && !collecting.spec.digits) this.#collected(collecting);
      else void this.#collectAgain(collecting);
    });
  }

  #collectKey(digit: string): void {
    const collecting = this.#collecting!;
    const { spec } = collecting;
    if (digit === spec.end_key) {
      if (collecting.digits) this.#collected(collecting);
      else void this.#collectAgain(collecting);
      return;
    }
    collecting.digits += digit;
    const full = spec.digits ?? spec.max_digits;
    if (collecting.digits.length >= full) this.#collected(collecting);
    else this.#armDigitTimer(collecting);
  }

  /** Nothing (or too little) was entered: the menu's no-input line and the prompt again. */
  async #collectAgain(collecting: Collecting): Promise<void> {
    const turn = this.#turn;
    if (this.#spendRetry()) return;
    collecting.digits = '';
    void this.hooks.say(this.#menu.no_input);
    if (turn === this.#turn) await this.#askForDigits(collecting);
  }

  #collected(collecting: Collecting): void {
    this.#collecting = undefined;
    this.call.cancel(this.#timer);
    this.#retries = 0;
    void this.#finishAction(collecting.action, collecting.key, collecting.digits);
  }

  /** The rest of an action once its digits (if any) are in. */
  async #finishAction(action: MenuAction, key: string, digits: string): Promise<void> {
    const from = this.#menuName;
    // Where the caller goes is decided now: keys pressed from here on land there.
    if (action.go_to) this.#menuName = action.go_to;
    if (action.agent) this.#handedOver = true;
    const turn = this.#turn;
    let playing = action.repeat && !action.say ? this.hooks.say(this.#menu.prompt) : undefined;
    if (action.say) playing = this.hooks.say(action.say.replaceAll('{digits}', spoken(digits)));
    if (action.webhook) {
      await playing;
      playing = this.hooks.say(await this.#webhook(action.webhook, from, key, digits));
    }
    if (action.send_dtmf) {
      await playing;
      await this.call.sendDigits(action.send_dtmf).catch(() => undefined);
    }
    if (action.transfer) {
      await playing;
      if (!(await this.call.transfer(action.transfer, action.transfer_mode ?? 'cold')))
        void this.hooks.say(TRANSFER_FAILED_LINE);
      return;
    }
    if (action.hangup) {
      await playing;
      await this.call.finish('agent_hangup');
      return;
    }
    if (action.agent) {
      await playing;
      const entered = digits ? ` and entered ${digits}` : '';
      this.hooks.handToAgent?.(`The caller pressed ${key} at the menu ${from}${entered}.`);
      return;
    }
    await playing;
    if (turn !== this.#turn || this.call.ended) return;
    if (action.go_to || (action.repeat && action.say)) await this.hooks.say(this.#menu.prompt);
    if (turn === this.#turn) this.#armMenuTimer();
  }

  async #webhook(
    spec: NonNullable<MenuAction['webhook']>,
    menu: string,
    key: string,
    digits: string,
  ): Promise<string> {
    try {
      const answer = await this.call.ivrWebhook({
        url: spec.url,
        timeout_seconds: spec.timeout_seconds,
        menu,
        key,
        digits,
      });
      return answer.say ?? spec.error;
    } catch {
      return spec.error;
    }
  }
}
