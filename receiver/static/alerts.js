// Alerts on this device: browser notifications from the live feed, and FCM web push registration.
//
// Browser notifications need nothing but permission: while the page (or the installed app) is
// open, every alert in the feed becomes a notification through the service worker.
//
// Web push (alerts while the page is closed) needs a Firebase web config from /api/config with a
// `vapidKey`. Without the Firebase JS SDK (not available offline), this file does what the SDK's
// getToken() does, over the same public REST endpoints:
//   1. subscribe with the Push API (the browser's push service) using the config's VAPID key;
//   2. create a Firebase installation (firebaseinstallations.googleapis.com) for an auth token;
//   3. exchange the subscription for an FCM registration token (fcmregistrations.googleapis.com);
//   4. POST that token to /api/devices, where the notifier's firebase-admin sends to it.
// Steps 1-3 need the internet and a real Firebase project; they are not exercised by the tests.

const INSTALLATIONS = "https://firebaseinstallations.googleapis.com/v1";
const REGISTRATIONS = "https://fcmregistrations.googleapis.com/v1";
const STORED_TOKEN = "siaga.fcmToken";

export async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return null;
  try {
    await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    return await navigator.serviceWorker.ready;
  } catch (error) {
    console.warn("service worker not registered:", error);
    return null;
  }
}

export function alertsState() {
  return "Notification" in window ? Notification.permission : "unsupported";
}

export async function enableAlerts() {
  if (alertsState() === "default") await Notification.requestPermission();
}

export async function notify(event, labels) {
  if (alertsState() !== "granted") return;
  const { title, body } = alertText(event, labels);
  const options = {
    body, tag: event.incident.id, renotify: true, icon: "/static/icon-192.png",
    badge: "/static/icon-192.png", data: { incident_id: event.incident.id, url: "/" },
  };
  const registration = await navigator.serviceWorker?.getRegistration();
  if (registration) await registration.showNotification(title, options);
  else new Notification(title, options);
}

// The same words as the notifier's push alerts (apps/notifier/push.py: alert_text): the incident's
// title and its most representative report.
function alertText(event, labels) {
  const incident = event.incident;
  const kind = incident.category === "other" ? "Emergency" : (labels[incident.category] ?? "Emergency");
  const what = incident.title || kind;
  const title = event.kind === "created" ? `${what}: new incident` : `${what}: ${incident.count} reports`;
  return { title, body: (incident.summary || incident.samples[0]?.text || "").slice(0, 160) };
}

export async function registerForPush(firebase, registration) {
  for (const field of ["apiKey", "projectId", "appId", "vapidKey"]) {
    if (!firebase[field]) return { ok: false, reason: `the Firebase web config has no ${field}` };
  }
  if (!("PushManager" in window)) return { ok: false, reason: "this browser has no Push API" };
  try {
    const subscription = await registration.pushManager.getSubscription()
      ?? await registration.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: fromBase64Url(firebase.vapidKey),
      });
    const token = await fcmToken(firebase, subscription);
    const answer = await fetch("/api/devices", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token }),
    });
    if (!answer.ok) return { ok: false, reason: `the notifier answered ${answer.status}` };
    localStorage.setItem(STORED_TOKEN, token);
    return { ok: true, token };
  } catch (error) {
    return { ok: false, reason: String(error) };
  }
}

async function fcmToken(firebase, subscription) {
  const headers = { "Content-Type": "application/json", Accept: "application/json", "x-goog-api-key": firebase.apiKey };
  const installation = await postJson(`${INSTALLATIONS}/projects/${firebase.projectId}/installations`, headers, {
    fid: newFid(), authVersion: "FIS_v2", appId: firebase.appId, sdkVersion: "w:0.6.4",
  });
  const registered = await postJson(`${REGISTRATIONS}/projects/${firebase.projectId}/registrations`, {
    ...headers, "x-goog-firebase-installations-auth": `FIS ${installation.authToken.token}`,
  }, {
    web: {
      endpoint: subscription.endpoint,
      auth: toBase64Url(subscription.getKey("auth")),
      p256dh: toBase64Url(subscription.getKey("p256dh")),
      applicationPubKey: firebase.vapidKey,
    },
  });
  if (!registered.token) throw new Error("FCM returned no registration token");
  return registered.token;
}

async function postJson(url, headers, body) {
  const response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}

// A Firebase installation id: 17 random bytes, first four bits 0111, as 22 base64url characters.
function newFid() {
  const bytes = crypto.getRandomValues(new Uint8Array(17));
  bytes[0] = 0b01110000 + (bytes[0] % 0b00010000);
  return toBase64Url(bytes.buffer).slice(0, 22);
}

function toBase64Url(buffer) {
  const text = String.fromCharCode(...new Uint8Array(buffer));
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  const padded = (text + "=".repeat((4 - (text.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}
