// Starts GOV.UK Frontend. An external module because the Content-Security-Policy
// allows no inline script; browsers without module support never run it, and get
// the plain (still fully working) pages, as GOV.UK Frontend intends.
import { initAll } from "/static/govuk/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();
