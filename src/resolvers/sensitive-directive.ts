import type { AuditedRead } from '../services/access-audit.service.ts';
import { defaultFieldResolver, type GraphQLSchema } from 'graphql';
import { getDirective, MapperKind, mapSchema } from '@graphql-tools/utils';
import { protect, type SensitiveKind } from '../auth/access-policy.ts';
import type { GraphQLContext } from './context.ts';

/**
 * Wraps every field marked `@sensitive(kind: …)` so that its value is masked unless the caller's role may see
 * it (src/auth/access-policy.ts). Because this is applied to the schema once, a new sensitive field is
 * protected by adding the directive in SDL — no resolver can forget it.
 */
const activityTypes = new Set(['Payment', 'Claim', 'Interaction', 'Lead', 'Consent', 'Registration', 'BankSale']);

/** Whose data a field on `parent` is: the customer itself, a row that names its customer, or an activity. */
function ownerOf(typeName: string, parent: unknown): AuditedRead['owner'] {
  const p = parent as { id?: string; partyId?: string | null; customerId?: string | null };
  if (typeName === 'Customer') return { type: 'customer', id: p.id ?? null };
  if (activityTypes.has(typeName)) return { type: 'activity', id: p.id ?? null };
  if (typeof p.partyId === 'string') return { type: 'customer', id: p.partyId };
  if (typeof p.customerId === 'string') return { type: 'customer', id: p.customerId };
  return { type: 'none', id: p.id ?? null };
}

export function applySensitiveDirective(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field, fieldName, typeName) => {
      const directive = getDirective(schema, field, 'sensitive')?.[0];
      if (!directive) return field;
      const declared = directive.kind as SensitiveKind;
      const resolve = field.resolve ?? defaultFieldResolver;
      const decide = (parent: unknown, context: GraphQLContext, raw: unknown): unknown => {
        const { value, unmasked } = protect(context.viewer, declared, parent, raw);
        if (unmasked.length > 0)
          context.unmaskedReads.push({ owner: ownerOf(typeName, parent), field: `${typeName}.${fieldName}` });
        return value;
      };
      return {
        ...field,
        // A value at hand (most are: a row's column) is decided at once, without a promise per field.
        resolve: (parent, args, context: GraphQLContext, info) => {
          const raw: unknown = resolve(parent, args, context, info);
          return isPromiseLike(raw)
            ? Promise.resolve(raw).then((v) => decide(parent, context, v))
            : decide(parent, context, raw);
        },
      };
    },
  });
}

const isPromiseLike = (v: unknown): v is PromiseLike<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
