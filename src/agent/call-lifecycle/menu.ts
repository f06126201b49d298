import type { MenuAction, ProfileSettings } from '../profile.js';
import type { CallLifecycle } from './lifecycle.js';

type Menu = NonNullable<ProfileSettings['ivr']>;
/** Says a line; resolves once it was played out. */
type Say = (text: string) => Promise<unknown>;

const TRANSFER_FAILED_LINE = 'Sorry, the transfer did not go through.';

/** One option of the menu: its line, the prompt again, then a transfer or a hangup. */
async function runMenuAction(call: CallLifecycle, menu: Menu, action: MenuAction, say: Say) {
  let playing = action.repeat ? say(menu.prompt) : undefined;
  if (action.say) playing = say(action.say);
  if (!action.transfer && !action.hangup) return;
  await playing;
  if (action.transfer) {
    if (!(await call.transfer(action.transfer))) void say(TRANSFER_FAILED_LINE);
    return;
  }
  await call.finish('agent_hangup');
}

/**
 * A key pressed at the profile's menu (the modes that speak for themselves): its option runs,
 * an unknown key hears the menu's `invalid` line. False when the profile has no menu.
 */
export function pressMenuKey(
  call: CallLifecycle,
  menu: Menu | undefined,
  digit: string,
  say: Say,
): boolean {
  if (!menu) return false;
  const action = menu.options[digit];
  void (action ? runMenuAction(call, menu, action, say) : say(menu.invalid));
  return true;
}
