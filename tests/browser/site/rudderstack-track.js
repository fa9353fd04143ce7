// The same site with RudderStack's JS SDK: tenure as its configuration backend (`configUrl`)
// and its data plane. `window.ready` resolves once the SDK has loaded its source's
// configuration.
const rudder = new rudderanalytics.RudderAnalytics();
window.ready = new Promise((resolve) => {
  rudder.load(window.TENURE.writeKey, window.TENURE.url, {
    configUrl: window.TENURE.url,
    onLoaded: () => resolve(rudder),
  });
}).then((analytics) => {
  analytics.page();
  return analytics;
});

document.addEventListener("DOMContentLoaded", () => {
  const signup = document.getElementById("signup");
  if (signup) {
    signup.addEventListener("click", async () => {
      const analytics = await window.ready;
      analytics.identify("u_browser_1", { email: "kim@acme.io", name: "Kim" });
      analytics.group("acct_browser", { name: "Acme" });
    });
  }
});
