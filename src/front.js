// Says so when the page's #/steps link does not lead to a state of this
// scenario: stateright's app.js then throws inside its hash handler and
// keeps showing what it showed before, silently. The server replays the
// path (/.onceproof/link) and explains what does not decode.
(function () {
  async function checkLink() {
    const banner = document.getElementById('onceproof-link-error');
    const hash = (window.location.hash || '#/steps').split('?')[0];
    let message = null;
    if (hash !== '#' && hash !== '#/steps' && !hash.startsWith('#/steps/')) {
      message = 'the link names no Explorer view (it should start with #/steps/)';
    } else {
      try {
        const r = await fetch('/.onceproof/link' + hash.slice('#/steps'.length));
        const v = await r.json();
        if (!v.ok) { message = v.message; }
      } catch (e) {
        message = 'the link could not be checked: ' + e;
      }
    }
    banner.textContent = message
      ? 'This link does not lead to a state of this scenario: ' + message +
        '. The page below does not show it; the link may come from another scenario, or from an older model.'
      : '';
    banner.hidden = !message;
  }
  window.addEventListener('hashchange', checkLink);
  window.addEventListener('DOMContentLoaded', checkLink);
})();
