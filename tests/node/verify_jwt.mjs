// verify_jwt.mjs — an independent check of FlowMaster access tokens with `jose`
// (https://github.com/panva/jose), which shares no code with the C verifier.
//
//   node verify_jwt.mjs <access-token> <jwks-url> <issuer>
//
// Fetches the JWKS, verifies the token (EdDSA, issuer, audience "flowmaster", exp/nbf),
// then makes sure jose refuses tampered copies: another payload under the same
// signature, a flipped signature bit, alg "none", and the right token checked against
// a wrong audience or issuer. Prints one JSON line; exit 0 only when all of that holds.
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

const [token, jwksUrl, issuer] = process.argv.slice(2);
if (!token || !jwksUrl || !issuer) {
  console.error('usage: node verify_jwt.mjs <access-token> <jwks-url> <issuer>');
  process.exit(2);
}

const JWKS = createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 0 });
const opts = { issuer, audience: 'flowmaster', algorithms: ['EdDSA'] };
const b64u = (s) => Buffer.from(s).toString('base64url');
const unb64u = (s) => Buffer.from(s, 'base64url').toString('utf8');

const out = { ok: false, rejected: {} };
let failed = false;

try {
  const { payload, protectedHeader } = await jwtVerify(token, JWKS, opts);
  if (protectedHeader.alg !== 'EdDSA' || !protectedHeader.kid) throw new Error('unexpected header ' + JSON.stringify(protectedHeader));
  out.kid = protectedHeader.kid;
  out.sub = payload.sub;
  out.tenant = payload.tenant;
  out.iss = payload.iss;
} catch (e) {
  out.error = `valid token refused: ${e.code || ''} ${e.message}`;
  console.log(JSON.stringify(out));
  process.exit(1);
}

const [h, p, s] = token.split('.');
const claims = JSON.parse(unb64u(p));
const sig = Buffer.from(s, 'base64url');
sig[10] ^= 0x01;

const tampered = {
  payload: [h, b64u(JSON.stringify({ ...claims, tenant: 'someone-else', roles: ['admin'] })), s].join('.'),
  signature: [h, p, sig.toString('base64url')].join('.'),
  algNone: [b64u(JSON.stringify({ alg: 'none', typ: 'JWT' })), p, ''].join('.'),
};
for (const [name, t] of Object.entries(tampered)) {
  try {
    await jwtVerify(t, JWKS, opts);
    failed = true;
    out.rejected[name] = 'ACCEPTED';
  } catch (e) {
    out.rejected[name] = e.code || e.name;
  }
}
for (const [name, o] of Object.entries({ audience: { ...opts, audience: 'other-app' },
                                          issuer: { ...opts, issuer: issuer + '/evil' } })) {
  try {
    await jwtVerify(token, JWKS, o);
    failed = true;
    out.rejected[name] = 'ACCEPTED';
  } catch (e) {
    out.rejected[name] = e.code || e.name;
  }
}
out.header = decodeProtectedHeader(token);
out.ok = !failed;
console.log(JSON.stringify(out));
process.exit(failed ? 1 : 0);
