/** A UUID in its canonical text form, any case (the ids of our rows). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a UUID: a reference that is an id rather than a name. */
export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}
