// plue.js — the little the pages need that HTML cannot do: the wallet
// sign-in and live logs. Every page works without it.
"use strict";
(function () {
  // Sign in with Ethereum: the server prepares the EIP-4361 message, the
  // wallet (EIP-1193, window.ethereum) signs it with personal_sign.
  async function siwe(btn) {
    const out = document.getElementById("siwe-status");
    const say = (m) => { if (out) out.textContent = m; };
    if (!window.ethereum) { say("no Ethereum wallet found in this browser"); return; }
    try {
      btn.disabled = true;
      const accounts = await window.ethereum.request({ method: "eth_requestAccounts" });
      const address = accounts[0];
      const chain = await window.ethereum.request({ method: "eth_chainId" });
      const q = "?address=" + encodeURIComponent(address) + "&chain_id=" + parseInt(chain, 16);
      const nr = await fetch("/api/auth/siwe/nonce" + q, { method: "POST" });
      const n = await nr.json();
      if (!nr.ok) throw new Error(n.error ? n.error.message : "could not get a nonce");
      const hex = "0x" + Array.from(new TextEncoder().encode(n.message))
        .map((b) => b.toString(16).padStart(2, "0")).join("");
      const signature = await window.ethereum.request({ method: "personal_sign",
        params: [hex, address] });
      const vr = await fetch("/api/auth/siwe/verify", { method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ message: n.message, signature: signature }) });
      const v = await vr.json();
      if (!vr.ok) throw new Error(v.error ? v.error.message : "sign-in failed");
      const next = btn.getAttribute("data-next") || "/";
      window.location.assign(next.startsWith("/") && !next.startsWith("//") ? next : "/");
    } catch (e) {
      say(e && e.message ? e.message : String(e));
      btn.disabled = false;
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    const b = document.getElementById("siwe");
    if (b) { b.hidden = false; b.addEventListener("click", () => siwe(b)); }
    if (window.plueLive) window.plueLive();
  });
})();
