import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';

/**
 * Callers are identified by a bearer JWT (HS256, verified with `jose`) whose `roles` claim lists their roles.
 * The hub does not issue tokens in production (an identity provider does); `signToken` serves the
 * development token printed at start and the tests.
 */
export const roles = ['CHANNEL_APP', 'UNDERWRITER', 'RISK_ADMIN', 'DATA_STEWARD', 'INTEGRATION_ADMIN'] as const;
export type Role = (typeof roles)[number];

export type Viewer = { subject: string; roles: readonly Role[] };

export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
}

export type TokenSettings = { secret: Uint8Array; issuer: string };

export function tokenSettings(secret: string, issuer: string): TokenSettings {
  return { secret: new TextEncoder().encode(secret), issuer };
}

export async function verifyBearer(header: string | undefined, settings: TokenSettings): Promise<Viewer> {
  if (!header) throw new AuthenticationError('missing Authorization header: send "Authorization: Bearer <token>"');
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match?.[1]) throw new AuthenticationError('Authorization header must be "Bearer <token>"');
  try {
    const { payload } = await jwtVerify(match[1], settings.secret, { issuer: settings.issuer, algorithms: ['HS256'] });
    const claimed = Array.isArray(payload.roles) ? payload.roles : [];
    const known = claimed.filter((r): r is Role => typeof r === 'string' && (roles as readonly string[]).includes(r));
    if (known.length === 0)
      throw new AuthenticationError(`token carries no known role (expected some of ${roles.join(', ')})`);
    if (!payload.sub) throw new AuthenticationError('token has no subject (sub)');
    return { subject: payload.sub, roles: known };
  } catch (e) {
    if (e instanceof AuthenticationError) throw e;
    if (e instanceof joseErrors.JWTExpired) throw new AuthenticationError('token expired');
    if (e instanceof joseErrors.JOSEError) throw new AuthenticationError(`invalid token: ${e.message}`);
    throw e;
  }
}

export async function signToken(
  settings: TokenSettings,
  subject: string,
  grant: readonly Role[],
  expiresIn = '12h',
): Promise<string> {
  return new SignJWT({ roles: [...grant] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(subject)
    .setIssuer(settings.issuer)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(settings.secret);
}
