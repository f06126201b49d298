import { sql, type Db, type DispatchRule, type Trunk } from '../db/index.js';
import { notFound } from '../errors/index.js';
import { isUuid } from '../kernel/uuid.js';

export type TrunkWithNumbers = Trunk & { numbers: string[] };
export type RuleWithTrunks = DispatchRule & { trunks: Trunk[] };

/** Trunks with their numbers (E.164, sorted) in one query. */
export function selectTrunks(db: Db) {
  return db
    .selectFrom('trunks')
    .selectAll('trunks')
    .select(
      sql<
        string[]
      >`coalesce((select array_agg(pn.number order by pn.number) from phone_numbers pn where pn.trunk_id = trunks.id), '{}')`.as(
        'numbers',
      ),
    );
}

/** API paths name a trunk by its uuid or its trunk_id slug. */
export async function findTrunk(db: Db, ref: string): Promise<TrunkWithNumbers | undefined> {
  return selectTrunks(db)
    .where((eb) =>
      isUuid(ref) ? eb('trunks.id', '=', ref.toLowerCase()) : eb('trunks.trunkId', '=', ref),
    )
    .executeTakeFirst();
}

export async function getTrunk(db: Db, ref: string): Promise<TrunkWithNumbers> {
  const trunk = await findTrunk(db, ref);
  if (!trunk) throw notFound('trunk', ref);
  return trunk;
}

/** Dispatch rules with the trunks they are scoped to. */
export async function selectRules(
  db: Db,
  where?: { id?: string; name?: string },
): Promise<RuleWithTrunks[]> {
  let query = db.selectFrom('dispatchRules').selectAll();
  if (where?.id) query = query.where('id', '=', where.id);
  if (where?.name) query = query.where('name', '=', where.name);
  const rules = await query.orderBy('createdAt').orderBy('id').execute();
  if (rules.length === 0) return [];
  const links = await db
    .selectFrom('dispatchRuleTrunks')
    .innerJoin('trunks', 'trunks.id', 'dispatchRuleTrunks.trunkId')
    .selectAll('trunks')
    .select('dispatchRuleTrunks.ruleId')
    .where(
      'dispatchRuleTrunks.ruleId',
      'in',
      rules.map((r) => r.id),
    )
    .execute();
  return rules.map((rule) => ({
    ...rule,
    trunks: links.filter((l) => l.ruleId === rule.id).map(({ ruleId: _ruleId, ...trunk }) => trunk),
  }));
}

export async function getRule(db: Db, ref: string): Promise<RuleWithTrunks> {
  const [rule] = await selectRules(db, isUuid(ref) ? { id: ref.toLowerCase() } : { name: ref });
  if (!rule) throw notFound('dispatch rule', ref);
  return rule;
}
