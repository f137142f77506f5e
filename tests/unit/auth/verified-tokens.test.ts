import { describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { AuthenticationError, signToken, tokenSettings, verifyBearer } from '../../../src/auth/viewer.ts';

/**
 * Verified tokens are remembered briefly (src/auth/viewer.ts) so that jose runs once per token, not per request.
 * What the cache must not change: an expired token is refused even though it was verified before, a token of
 * other settings (another secret) is not taken for verified, and a refused token stays refused.
 */
describe('verified token cache', () => {
  const settings = tokenSettings('unit-secret-unit-secret-unit-secret-0001', 'hub-test');

  it('answers a token verified before with the same caller, without verifying it again', async () => {
    const token = await signToken(settings, 'agent-7', ['CHANNEL_APP']);
    const first = await verifyBearer(`Bearer ${token}`, settings);
    const again = await verifyBearer(`Bearer ${token}`, settings);
    expect(first).toEqual({ subject: 'agent-7', roles: ['CHANNEL_APP'] });
    // The very object remembered: the signature was not checked again.
    expect(again).toBe(first);
    expect(Object.isFrozen(again)).toBe(true);
  });

  it('refuses a remembered token once it has expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    // Expires at the start of the second after next (iat one second before, so the lifetime is within the maximum):
    // at the start of the next one, a test that began late in its second could find it expired at once (CI did).
    const token = await new SignJWT({ roles: ['CHANNEL_APP'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('short-lived')
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setIssuedAt(now - 1)
      .setExpirationTime(now + 2)
      .sign(settings.secret);
    await expect(verifyBearer(`Bearer ${token}`, settings)).resolves.toMatchObject({ subject: 'short-lived' });
    await new Promise((r) => setTimeout(r, (now + 2) * 1000 - Date.now() + 20));
    await expect(verifyBearer(`Bearer ${token}`, settings)).rejects.toThrow(new AuthenticationError('token expired'));
  });

  it('does not take a token verified under one secret for verified under another', async () => {
    const other = tokenSettings('unit-secret-other-other-other-other-0002', 'hub-test');
    const token = await signToken(settings, 'agent-8', ['UNDERWRITER']);
    await expect(verifyBearer(`Bearer ${token}`, settings)).resolves.toMatchObject({ subject: 'agent-8' });
    await expect(verifyBearer(`Bearer ${token}`, other)).rejects.toThrow(AuthenticationError);
  });

  it('keeps refusing a token that failed', async () => {
    const token = await signToken(settings, 'agent-9', ['CHANNEL_APP']);
    const tampered = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    await expect(verifyBearer(`Bearer ${tampered}`, settings)).rejects.toThrow(AuthenticationError);
    await expect(verifyBearer(`Bearer ${tampered}`, settings)).rejects.toThrow(AuthenticationError);
  });
});
