/** Destinations refused unless a policy allows their class: each is a rule of a refusal. */
export const COSTLY_CLASSES = [
  'premium_rate',
  'shared_cost',
  'personal_number',
  'international_network',
] as const;
export type CostlyClass = (typeof COSTLY_CLASSES)[number];

/** Why a destination was refused: a costly class, or the policy's own lists. */
export type RefusalRule = CostlyClass | 'country_not_allowed' | 'sip_host_not_allowed';
