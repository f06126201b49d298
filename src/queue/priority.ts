import { sql, type Tx } from '../db/index.js';

/** A caller number as the lists store it: digits only, no '+'. */
export function digitsOf(number: string | null | undefined): string {
  return (number ?? '').replace(/\D/g, '');
}

/**
 * A waiting call's priority: the caller's entry in the priority list (an exact number first,
 * then the longest prefix) when there is one, otherwise the called number's queue_priority.
 */
export async function callerPriority(
  db: Tx,
  toNumber: string | null | undefined,
  fromNumber: string | null | undefined,
): Promise<number> {
  const digits = digitsOf(fromNumber);
  if (digits) {
    const entry = await db
      .selectFrom('priorityCallers')
      .select('priority')
      .where((eb) =>
        eb.or([
          eb.and([eb('isPrefix', '=', false), eb('pattern', '=', digits)]),
          eb.and([eb('isPrefix', '=', true), sql<boolean>`${digits} LIKE pattern || '%'`]),
        ]),
      )
      .orderBy('isPrefix')
      .orderBy(sql`length(pattern)`, 'desc')
      .executeTakeFirst();
    if (entry) return entry.priority;
  }
  if (!toNumber) return 0;
  const number = await db
    .selectFrom('phoneNumbers')
    .select('queuePriority')
    .where('number', '=', toNumber)
    .executeTakeFirst();
  return number?.queuePriority ?? 0;
}
