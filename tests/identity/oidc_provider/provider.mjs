// A real OpenID provider for mlgov's tests: panva's oidc-provider (OpenID Certified), on
// 127.0.0.1, configured from the JSON file named on the command line:
//
//   { "issuer": "http://127.0.0.1:18310", "port": 18310, "users_file": "...",
//     "clients": [ ...client metadata... ], "jwks": { "keys": [ ...private JWKs... ] },
//     "cookie_keys": ["..."], "lifetime_seconds": 1800 }
//
// Test users are read from users_file at every sign-in, so a test changes someone's groups
// at the provider by rewriting the file: { "alice": { "password": "...", "email": "...",
// "given_name": "...", "family_name": "...", "groups": ["..."], "id_token_ttl": 3600 } }.
// The sign-in pages are the library's development interactions, which ask for a login and a
// password; this provider checks the password against users_file. Consent is given in advance
// for the clients configured (first-party applications). PKCE is required of every client;
// RP-initiated logout is on. Prints "ready <issuer>" once listening; exits when stdin closes
// (the test that started it is gone) or after lifetime_seconds.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const users = () => JSON.parse(readFileSync(config.users_file, 'utf8'));

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: config.jwks,
  cookies: { keys: config.cookie_keys },
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  // Claims of the requested scopes go into the ID token itself, as Entra ID, Okta and
  // Keycloak can be set to send the groups.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  ttl: {
    IdToken: (ctx, token) => users()[token.available?.sub]?.id_token_ttl ?? 3600,
  },
  async findAccount(ctx, id) {
    const user = users()[id];
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: user.email,
          email_verified: true,
          name: `${user.given_name ?? ''} ${user.family_name ?? ''}`.trim(),
          given_name: user.given_name,
          family_name: user.family_name,
          preferred_username: id,
          groups: user.groups ?? [],
        };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const grant = await ctx.oidc.provider.Grant.find(grantId);
      if (grant) return grant;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
});

// The development login accepts any login; a test provider that signs anyone in would prove
// little, so the password is checked here before the library sees the form (which it then
// reads from req.body, as it does behind an upstream body parser).
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && /^\/interaction\/[^/]+$/.test(ctx.path)) {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const raw = Buffer.concat(chunks).toString('utf8');
    const form = new URLSearchParams(raw);
    if (form.get('prompt') === 'login') {
      const user = users()[form.get('login') ?? ''];
      if (!user || user.password !== form.get('password')) {
        ctx.status = 401;
        ctx.type = 'text/plain';
        ctx.body = 'wrong login or password';
        return undefined;
      }
    }
    ctx.req.body = raw;
  }
  return next();
});

const server = createServer(provider.callback());
server.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`ready ${config.issuer}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
setTimeout(() => process.exit(0), (config.lifetime_seconds ?? 1800) * 1000).unref();
