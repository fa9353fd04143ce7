// What a marketing site does with analytics.js: load it with tenure as its CDN and API, then
// send a page view. `window.ready` resolves to the loaded analytics instance.
window.ready = AnalyticsNext.AnalyticsBrowser.load({
  writeKey: window.TENURE.writeKey,
  cdnURL: window.TENURE.url,
}).then(([analytics]) => {
  analytics.page();
  return analytics;
});

document.addEventListener("DOMContentLoaded", () => {
  const signup = document.getElementById("signup");
  if (signup) {
    signup.addEventListener("click", async () => {
      const analytics = await window.ready;
      await analytics.identify("u_browser_1", { email: "kim@acme.io", name: "Kim" });
      await analytics.group("acct_browser", { name: "Acme" });
    });
  }
});
