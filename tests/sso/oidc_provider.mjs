// A real, certified OpenID provider (the npm package oidc-provider) for the SSO tests, on 127.0.0.1.
// Started by tests/sso/conftest.py with its settings in the environment:
//   PORT            the port to listen on (issuer: http://127.0.0.1:PORT)
//   REDIRECT_URIS   comma-separated callback addresses of the dashboard client
//   JWKS            the signing keys (JSON {"keys": [...]}, private), so tests can craft tokens too
// Its development login form accepts any login and password: the login names the account below.
import Provider from "oidc-provider";

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;

// Accounts are made up from the login typed: `<name>` is a verified <name>@acme.test, tenant admin of
// acme; a login starting "staff" claims the staff role; one starting "unverified" has an unverified
// e-mail; one containing "globex" belongs to globex.test and its tenant.
function claimsOf(login) {
  const globex = login.includes("globex");
  return {
    email: `${login}@${globex ? "globex" : "acme"}.test`,
    email_verified: !login.startsWith("unverified"),
    name: `Person ${login}`,
    dashboard_role: login.startsWith("staff") ? "staff" : "tenant_admin",
    ...(login.startsWith("staff") ? {} : { dashboard_tenant: globex ? "globex" : "acme" }),
  };
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "dashboard",
      client_secret: "dashboard-secret",
      redirect_uris: process.env.REDIRECT_URIS.split(","),
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  jwks: JSON.parse(process.env.JWKS),
  pkce: { required: () => true },
  scopes: ["openid", "email", "profile", "dashboard"],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name"],
    dashboard: ["dashboard_role", "dashboard_tenant"],
  },
  async findAccount(ctx, id) {
    const login = String(id).split("@")[0].toLowerCase();
    return { accountId: login, async claims() { return { sub: login, ...claimsOf(login) }; } };
  },
  // No consent screen: the dashboard is a first-party client.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid email profile dashboard");
    await grant.save();
    return grant;
  },
  ttl: { IdToken: 3600, AccessToken: 3600, AuthorizationCode: 60, Session: 3600, Interaction: 600, Grant: 3600 },
});
provider.proxy = false;
provider.listen(port, "127.0.0.1", () => console.log(`oidc-provider listening on ${issuer}`));
