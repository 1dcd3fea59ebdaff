// The citizen's own page (docs/api.md "GET /account"): the single sign-on session of this
// browser, the agencies in it, and "sign out everywhere". Only through the session's own
// cookie; the form carries the session's sid, which no other site can know (the cookie is
// httpOnly and Lax), so a forged POST ends nothing.
import express, { Router, type Request, type Response } from 'express';
import type { OidcDeps } from '../oidc/provider.ts';
import { endEverywhere, liveSession } from '../oidc/sso.ts';
import { acrLevels } from '../login/assurance.ts';
import { accountPage, chooseLocale, cookieValue, sendPage } from './pages.ts';

const form = express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 });

export function accountRouter(oidc: OidcDeps): Router {
  const router = Router();
  const ssoCookieName = oidc.secureCookies ? '__Host-yagona-sso' : 'yagona-sso';
  const locale = (req: Request) => chooseLocale(undefined, req.get('cookie'));
  const session = (req: Request) => liveSession(oidc, cookieValue(req.get('cookie'), ssoCookieName));

  router.use('/account', (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  router.get('/account', async (req: Request, res: Response) => {
    const live = await session(req);
    if (live === undefined) {
      sendPage(res, accountPage({ locale: locale(req) }));
      return;
    }
    const agencies = await Promise.all(live.clients.map(async (id) => (await oidc.clients.find(id))?.name ?? id));
    sendPage(res, accountPage({
      locale: locale(req),
      session: { sid: live.sid, name: live.identity.commonName ?? '', authTime: new Date(live.authTime * 1000), high: acrLevels[live.acr as keyof typeof acrLevels] === 2, agencies },
    }));
  });

  router.post('/account/logout', form, async (req: Request, res: Response) => {
    const live = await session(req);
    const sid = (req.body as Record<string, unknown> | undefined)?.sid;
    if (live === undefined || sid !== live.sid) {
      // Not this browser's session (a forged form, or one that ended meanwhile): nothing ends.
      res.redirect(303, '../account');
      return;
    }
    await endEverywhere(oidc, live);
    res.clearCookie(ssoCookieName, { httpOnly: true, sameSite: 'lax', secure: oidc.secureCookies, path: '/' });
    sendPage(res, accountPage({ locale: locale(req), signedOut: true }));
  });
  return router;
}
