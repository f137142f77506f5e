import { defaultFieldResolver, type GraphQLSchema } from 'graphql';
import { getDirective, MapperKind, mapSchema } from '@graphql-tools/utils';
import { protect, type SensitiveKind } from '../auth/access-policy.ts';
import type { GraphQLContext } from './context.ts';

/**
 * Wraps every field marked `@sensitive(kind: …)` so that its value is masked unless the caller's role may see
 * it (src/auth/access-policy.ts). Because this is applied to the schema once, a new sensitive field is
 * protected by adding the directive in SDL — no resolver can forget it.
 */
export function applySensitiveDirective(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field, fieldName, typeName) => {
      const directive = getDirective(schema, field, 'sensitive')?.[0];
      if (!directive) return field;
      const declared = directive.kind as SensitiveKind;
      const resolve = field.resolve ?? defaultFieldResolver;
      return {
        ...field,
        resolve: async (parent, args, context: GraphQLContext, info) => {
          const raw = await resolve(parent, args, context, info);
          const { value, unmasked } = protect(context.viewer, declared, parent, raw);
          if (unmasked.length > 0) {
            const owner =
              (parent as { partyId?: string; id?: string }).partyId ?? (parent as { id?: string }).id ?? 'unknown';
            const fields = context.unmaskedReads.get(owner) ?? new Set<string>();
            fields.add(`${typeName}.${fieldName}`);
            context.unmaskedReads.set(owner, fields);
          }
          return value;
        },
      };
    },
  });
}
