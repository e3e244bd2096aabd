// An independent OAuth 2.0 / OpenID Connect server (oidc-provider) for deputy-vault-local's
// peer tests. It runs from <repo>/.peers/oidc (where scripts/peers/install.sh put
// oidc-provider); the tests copy this file there before starting it.
//
// Environment:
//   OIDC_PORT           port on 127.0.0.1 (required)
//   OIDC_CLIENT_ID      confidential client id (default deputy-vault)
//   OIDC_CLIENT_SECRET  its secret (default deputy-vault-secret)
//   OIDC_REDIRECT_URIS  comma-separated redirect URIs (the vault provider's callbackUrl)
//   OIDC_RESOURCE       resource indicator / audience of JWT access tokens
//
// Access tokens are RS256 JWTs (typ at+jwt) for OIDC_RESOURCE, verifiable with /jwks.
// Login uses oidc-provider's development interactions: any login name, any password.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('OIDC_PORT must be set to a free port');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const resource = process.env.OIDC_RESOURCE ?? 'https://api.deputy.test';
const redirectUris = (process.env.OIDC_REDIRECT_URIS ?? '').split(',').filter(Boolean);

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: `peer-${randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID ?? 'deputy-vault',
    client_secret: process.env.OIDC_CLIENT_SECRET ?? 'deputy-vault-secret',
    redirect_uris: redirectUris,
    response_types: redirectUris.length ? ['code'] : [],
    grant_types: redirectUris.length
      ? ['authorization_code', 'refresh_token', 'client_credentials']
      : ['client_credentials'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, indicator) => ({
        scope: 'api:read api:write',
        audience: indicator,
        accessTokenTTL: 600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  pkce: { required: () => true },
});

provider.on('server_error', (_ctx, err) => console.error('server_error', err));
provider.on('grant.error', (_ctx, err) => console.error('grant.error', err.message));
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider ready at ${issuer}`));
