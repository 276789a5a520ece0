// The review app's only script: approve / reject buttons post to /api/approvals with the
// page's CSRF token (the session cookie is SameSite=Strict and HttpOnly), then reload.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const campaign = document.querySelector('meta[name="campaign"]').content;

  async function post(card, decision, comment) {
    const body = {
      campaign: campaign,
      asset: card.dataset.asset,
      variant: Number(card.dataset.variant),
      size: card.dataset.size,
      locale: card.dataset.locale, // undefined (left out) when the brief has no locales
      version: Number(card.dataset.version),
      decision: decision,
      comment: comment,
    };
    const response = await fetch("/api/approvals", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      const text = await response.text();
      throw new Error(card.dataset.asset + " " + card.dataset.size + ": " + response.status + " " + text);
    }
  }

  document.addEventListener("click", async function (event) {
    const button = event.target.closest("button[data-decision]");
    if (!button) return;
    const box = button.closest(".decide");
    const comment = box.querySelector("input").value.trim();
    const decision = button.dataset.decision;
    if (decision === "reject" && !comment) {
      alert("Say why in the comment: the next run re-rolls the draft with it as the reason.");
      return;
    }
    let cards;
    if (box.dataset.scope === "asset") {
      const section = button.closest("section.asset");
      cards = Array.from(section.querySelectorAll(".card[data-version]")).filter(function (card) {
        return card.dataset.version && (decision === "reject" || card.dataset.status === "pending");
      });
    } else {
      cards = [button.closest(".card")];
    }
    button.disabled = true;
    try {
      for (const card of cards) await post(card, decision, comment);
      window.location.reload();
    } catch (error) {
      alert(error.message);
      button.disabled = false;
    }
  });
})();
