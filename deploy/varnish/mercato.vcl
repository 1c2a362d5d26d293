# Mercato edge cache: the caching rules for Varnish Cache 7.1 with varnish-modules 0.20.
#
# This file holds only logic. It is included by a small top-level VCL that must define, BEFORE the
# include line:
#
#   1. `vcl 4.1;` (this file carries no version line of its own);
#   2. at least one backend (the first one defined is the default `req.backend_hint`; a director
#      chosen in the includer's own vcl_recv works too), each with a `.probe` on `GET /health`
#      (200 when up). The probe decides when a stale copy past its stale-while-revalidate window is
#      served without asking the backend at all (`std.healthy(req.backend_hint)` false). Without a
#      probe, stale-if-error still covers fetches that fail (5xx, refused), at one attempt per read.
#      Use `.initial = .threshold` so a fresh start counts as healthy;
#   3. `acl purgers { ... }`: the addresses allowed to PURGE and to see debug headers
#      (`X-Edge-Debug: 1`). The Mercato instances' addresses belong in it.
#
# Subroutines of the same name are concatenated in source order. The includer's own vcl_recv etc.
# placed BEFORE the include run first and must not return (setting req.backend_hint is fine). Placed
# after it, they never run where this file always returns: vcl_recv, vcl_hit, vcl_deliver,
# vcl_backend_response. This file imports std, xkey, var, cookie, header and str itself (a second
# `import std;` in the includer is harmless).
#
# Example top-level file (scripts/varnish.sh writes one like it):
#
#   vcl 4.1;
#
#   backend mercato {
#       .host = "127.0.0.1";
#       .port = "8080";
#       .connect_timeout = 1s;
#       .first_byte_timeout = 30s;
#       .between_bytes_timeout = 10s;
#       .probe = {
#           .request = "GET /health HTTP/1.1" "Host: mercato" "Connection: close";
#           .interval = 1s;
#           .timeout = 1s;
#           .window = 5;
#           .threshold = 3;
#           .initial = 3;
#       }
#   }
#
#   acl purgers {
#       "127.0.0.1";
#       "::1";
#       "10.0.0.0"/8;
#   }
#
#   include "/srv/mercato/deploy/varnish/mercato.vcl";
#
# What it does, in short:
#   - PURGE with `xkey-purge: <keys>` (hard) and/or `xkey-softpurge: <keys>` (soft), from `purgers`
#     only; answers `200 Invalidated N`.
#   - Looks up only GET/HEAD of /v1/stores/{m}/categories, /v1/stores/{m}/products and
#     /v1/stores/{m}/products/{p}; everything else passes.
#   - One object per URL (market parameter removed, query sorted) + host + market + storefront token.
#   - TTL from s-maxage, stale-while-revalidate as grace, stale-if-error implemented here.
#   - Closes the in-flight purge race (a fetch started before a purge is not stored).
#   - Adds `X-Edge: hit | miss | pass | stale-if-error`; strips surrogate keys and debug headers.

import std;
import xkey;
import var;
import cookie;
import header;
import str;

# ---------------------------------------------------------------------------------------------------
# Client side
# ---------------------------------------------------------------------------------------------------

sub vcl_recv {
    # Built-in: lower-case Host, 400 for HTTP/1.1 without Host.
    call vcl_req_host;

    if (req.restarts == 0) {
        # Internal flags travel as request headers between restarts; never take them from a client.
        unset req.http.X-Edge-Stale-Fallback;
        unset req.http.X-Edge-Serve-Stale;
        unset req.http.X-Edge-Refetch;
    } else if (req.http.X-Edge-Refetch) {
        # vcl_deliver found the object this request just fetched possibly missed by a purge: remove it
        # (every variant of this URL), then fetch again (vcl_purge restarts).
        unset req.http.X-Edge-Refetch;
        return (purge);
    }
    # How this delivery is labelled in X-Edge; set in vcl_pass / vcl_hit (PRIV_TASK, never on the wire).
    var.set("edge", "");

    if (req.method == "PURGE") {
        call mercato_purge;
    }

    # Only storefront reads are shared; admin, checkouts, orders, health, metrics... always pass.
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    if (req.url !~ "^/v1/stores/[^/?]+/(categories|products(/[^/?]+)?)(\?|$)") {
        return (pass);
    }

    call mercato_market;

    # Credentials and read-your-writes tokens need the origin's own answer.
    if (req.http.Authorization || req.http.X-Mercato-Read-After) {
        return (pass);
    }

    set req.url = std.querysort(req.url);
    # The app reads no cookies on these paths (the market cookie was folded into X-Market above).
    unset req.http.Cookie;

    # A restart from vcl_hit wants a fresh copy: grace 0 makes the lookup a miss (or wait on a fetch
    # already in flight) instead of the same stale hit. req.grace survives restarts and cannot be
    # unset (negative values become 0), so the stale-if-error restart lifts it again with a value
    # above any object's grace: min(req.grace, obj.grace) is then obj.grace.
    if (req.http.X-Edge-Serve-Stale) {
        set req.grace = 1y;
    } else if (req.restarts > 0) {
        set req.grace = 0s;
    }
    return (hash);
}

# The app takes the market from `market=` in the query, else from `X-Market`. Fold all spellings into
# one upper-case X-Market and drop the parameter, so `?market=gb`, `?market=GB`, `X-Market: gb` and a
# `market=gb` cookie share one object while DE and GB never do.
sub mercato_market {
    if (req.url ~ "\?(.*&)?market=") {
        # The first occurrence wins, as in the app.
        set req.http.X-Market = std.toupper(
            regsub(req.url, "^[^?]*\?(?:[^&]*&)*?market=([^&]*).*$", "\1"));
        # Remove every occurrence: not-first ones with their leading '&', then a first one, then a bare '?'.
        set req.url = regsuball(req.url, "&market=[^&]*", "");
        set req.url = regsub(req.url, "\?market=[^&]*&?", "?");
        set req.url = regsub(req.url, "\?$", "");
    } else if (req.http.X-Market) {
        set req.http.X-Market = std.toupper(req.http.X-Market);
    } else if (req.http.Cookie) {
        cookie.parse(req.http.Cookie);
        # isset first: a missing cookie is NULL, and NULL != "" is true in VCL.
        if (cookie.isset("market") && cookie.get("market") != "") {
            set req.http.X-Market = std.toupper(cookie.get("market"));
        }
    }
}

sub mercato_purge {
    if (client.ip !~ purgers) {
        return (synth(403, "Forbidden"));
    }
    if (!req.http.xkey-purge && !req.http.xkey-softpurge) {
        return (synth(400, "xkey-purge or xkey-softpurge required"));
    }
    # Mark the purge BEFORE purging: xkey skips objects still being fetched (busy). The mark is this
    # request's id, so it changes with every purge: a fetch that sees it change between its start and
    # its end (vcl_backend_response), or an object that sees it change between that check and its first
    # delivery (vcl_deliver), may have been missed. Order, not clocks: `now` is frozen per subroutine,
    # so a time taken here can predate a check that runs before this line.
    var.global_set("mercato_purge", req.xid);
    var.set_int("invalidated", 0);
    if (req.http.xkey-purge) {
        var.set_int("invalidated", xkey.purge(req.http.xkey-purge));
    }
    if (req.http.xkey-softpurge) {
        var.set_int("invalidated",
            var.get_int("invalidated") + xkey.softpurge(req.http.xkey-softpurge));
    }
    return (synth(200, "Invalidated " + var.get_int("invalidated")));
}

sub vcl_hash {
    # On top of the built-in URL + Host (which follows, since this does not return): the market, and
    # the storefront token, so a token request never meets an anonymous object nor another token's.
    hash_data("market:" + req.http.X-Market);
    hash_data("token:" + req.http.X-Storefront-Token);
}

sub vcl_pass {
    var.set("edge", "pass");
}

# Reached for fresh objects and for stale ones within obj.grace (the larger of stale-while-revalidate
# and stale-if-error, see vcl_backend_response).
sub vcl_hit {
    # The last moment of the in-flight race (see vcl_deliver): a hit on an object so young that the
    # request which fetched it may not have had its second look yet, with a purge marked since the
    # object's check. Remove it and fetch again, as that look would. Young means 5 ms: the look follows
    # the indexing at once unless a thread is preempted; an older bound refetches every hot object that
    # saw any purge (50 ms cost 7 points of edge hit rate in the default mix).
    if (obj.age < 5ms && req.restarts == 0 && obj.http.X-Edge-Purge-Mark &&
        "" + var.global_get("mercato_purge") != obj.http.X-Edge-Purge-Mark) {
        set req.http.X-Edge-Refetch = "1";
        return (restart);
    }
    if (obj.ttl >= 0s) {
        return (deliver);
    }
    # Second pass after a failed synchronous fetch (vcl_synth): this stale copy is the answer.
    if (req.http.X-Edge-Serve-Stale) {
        var.set("edge", "stale-if-error");
        return (deliver);
    }
    # stale-while-revalidate: serve it; Varnish refreshes it in the background.
    if (obj.ttl + std.duration(obj.http.x-edge-swr + "s", 0s) > 0s) {
        return (deliver);
    }
    # stale-if-error: past SWR, the backend is down.
    if (!std.healthy(req.backend_hint)) {
        var.set("edge", "stale-if-error");
        return (deliver);
    }
    # Past SWR with a healthy backend: fetch synchronously (`return (miss)` is not allowed here in
    # 7.1). If that fetch fails, vcl_backend_* abandon it and vcl_synth comes back for this copy.
    set req.http.X-Edge-Stale-Fallback = "1";
    return (restart);
}

sub vcl_synth {
    # A synchronous fetch with a stale copy to fall back on failed (5xx or no connection): restart
    # once more and deliver the stale copy (vcl_hit) instead of the error.
    if (resp.status == 503 && req.http.X-Edge-Stale-Fallback && !req.http.X-Edge-Serve-Stale) {
        unset req.http.X-Edge-Stale-Fallback;
        set req.http.X-Edge-Serve-Stale = "1";
        return (restart);
    }
    # Otherwise the built-in page (purge answers, errors).
}

sub vcl_deliver {
    # Varnish answers If-None-Match with 304 itself (after this subroutine) but compares the header
    # as one string: a list of ETags or `*` never matches. The app accepts both, so when the list
    # holds this ETag (compared weakly; a quoted tag cannot contain a quote, so a substring match
    # is an element match), or is `*`, leave just the ETag for Varnish to compare.
    if (resp.status == 200 && resp.http.ETag && req.http.If-None-Match &&
        req.http.If-None-Match != resp.http.ETag) {
        if (req.http.If-None-Match ~ "^\s*\*\s*$" ||
            str.contains(req.http.If-None-Match, regsub(resp.http.ETag, "^W/", ""))) {
            set req.http.If-None-Match = resp.http.ETag;
        }
    }

    # The rest of the in-flight race. vcl_backend_response refuses fetches a purge overlapped, but xkey
    # indexes a stored object only when it stops being busy, a moment after that check: a purge in between
    # does not see it (rare, but a preempted thread makes the moment milliseconds). The request that
    # fetched the object gets here after it was indexed: if a purge was marked since the check, remove the
    # object and fetch again. A false alarm (a purge of other keys in that moment) costs one fetch.
    if (obj.hits == 0 && resp.http.X-Edge-Stored == "yes" && req.restarts < 2 &&
        "" + var.global_get("mercato_purge") != resp.http.X-Edge-Purge-Mark) {
        set req.http.X-Edge-Refetch = "1";
        return (restart);
    }

    if (var.get("edge") == "stale-if-error") {
        set resp.http.X-Edge = "stale-if-error";
    } else if (var.get("edge") == "pass") {
        set resp.http.X-Edge = "pass";
    } else if (obj.hits > 0) {
        # Includes stale-while-revalidate deliveries.
        set resp.http.X-Edge = "hit";
    } else {
        set resp.http.X-Edge = "miss";
    }

    unset resp.http.Surrogate-Control;
    if (req.http.X-Edge-Debug == "1" && client.ip ~ purgers) {
        return (deliver);
    }
    # Surrogate keys and bookkeeping are for this edge only.
    unset resp.http.xkey;
    unset resp.http.Surrogate-Key;
    unset resp.http.x-edge-swr;
    unset resp.http.X-Edge-Stored;
    unset resp.http.X-Edge-Purge-Mark;
    # The app's debug headers: Server-Timing and every X-Mercato-* but X-Mercato-Read-After (a write's
    # read-your-writes token, which clients need). VCL cannot unset by pattern, so rename the matching
    # lines to one throwaway name and unset that.
    unset resp.http.Server-Timing;
    header.regsub(resp, "^(?i)X-Mercato-(?!Read-After:)[^:]*:.*$", "X-Edge-Drop: 1");
    unset resp.http.X-Edge-Drop;
    return (deliver);
}

# ---------------------------------------------------------------------------------------------------
# Backend side
# ---------------------------------------------------------------------------------------------------

sub vcl_backend_fetch {
    # The latest purge's mark as this fetch starts, for the in-flight check in vcl_backend_response.
    var.set("purge-mark", "" + var.global_get("mercato_purge"));

    if (bereq.http.X-Edge-Serve-Stale) {
        unset bereq.http.X-Edge-Serve-Stale;
        # The stale copy is being served because the backend just failed: no refresh behind it.
        if (bereq.is_bgfetch) {
            return (abandon);
        }
    }
    # Move the client side's "a stale copy is waiting" hint off the wire into this task.
    if (bereq.http.X-Edge-Stale-Fallback) {
        var.set("stale-fallback", "1");
        unset bereq.http.X-Edge-Stale-Fallback;
    }
    # Falls through to the built-in (drops a GET body, fetches).
}

sub vcl_backend_response {
    if (bereq.uncacheable) {
        return (deliver);
    }
    if (beresp.status >= 500) {
        # A failing refresh must not replace the stale copy; a failing synchronous fetch with a stale
        # copy behind it hands over to vcl_synth, which serves that copy (stale-if-error).
        if (bereq.is_bgfetch || var.get("stale-fallback") == "1") {
            return (abandon);
        }
        set beresp.http.X-Edge-Stored = "no-error";
        call mercato_hit_for_miss;
    }
    # What the app did not mark as shared-cacheable is not stored (the built-in rules, made explicit,
    # plus: no Cache-Control at all means no default TTL either).
    if (beresp.ttl <= 0s ||
        beresp.http.Set-Cookie ||
        beresp.http.Cache-Control ~ "(?i)(private|no-store|no-cache)" ||
        beresp.http.Surrogate-Control ~ "(?i)no-store" ||
        (!beresp.http.Cache-Control && !beresp.http.Expires) ||
        beresp.http.Vary == "*") {
        set beresp.http.X-Edge-Stored = "no-uncacheable";
        call mercato_hit_for_miss;
    }
    # The in-flight race: a purge marked since this fetch started missed this (busy) object, and the
    # body may predate the write. Deliver it to its requester (and let waiters fetch again), store nothing.
    if ("" + var.global_get("mercato_purge") != var.get("purge-mark")) {
        set beresp.http.X-Edge-Stored = "no-purged-in-flight";
        call mercato_hit_for_miss;
    }

    # An app that purges this edge on every write lets it keep public answers longer than s-maxage
    # (`Surrogate-Control: max-age`, meant for the edge alone, removed in vcl_deliver): only a lost purge
    # could leave them stale, and that is what this TTL bounds.
    if (beresp.http.Surrogate-Control ~ "(?i)(^|[ ,])max-age=[0-9]+") {
        set beresp.ttl = std.duration(
            regsub(beresp.http.Surrogate-Control, "(?i)^(.*[ ,])?max-age=([0-9]+).*$", "\2") + "s", beresp.ttl);
    }

    # Varnish already took s-maxage as TTL and stale-while-revalidate as grace. Keep the SWR window
    # for vcl_hit, then widen grace to stale-if-error, which Varnish does not know.
    set beresp.http.x-edge-swr = regsub("" + beresp.grace, "\.000$", "");
    if (beresp.http.Cache-Control ~ "(?i)stale-while-revalidate=[0-9]+") {
        set beresp.http.x-edge-swr = regsub(beresp.http.Cache-Control,
            "(?i)^.*stale-while-revalidate=([0-9]+).*$", "\1");
    }
    set beresp.grace = std.duration(beresp.http.x-edge-swr + "s", 0s);
    if (beresp.http.Cache-Control ~ "(?i)stale-if-error=[0-9]+" &&
        std.duration(regsub(beresp.http.Cache-Control,
            "(?i)^.*stale-if-error=([0-9]+).*$", "\1") + "s", 0s) > beresp.grace) {
        set beresp.grace = std.duration(regsub(beresp.http.Cache-Control,
            "(?i)^.*stale-if-error=([0-9]+).*$", "\1") + "s", 0s);
    }
    # Past grace, keep the object for conditional refreshes (If-None-Match with its ETag).
    set beresp.keep = 10m;
    set beresp.http.X-Edge-Stored = "yes";
    # The mark the in-flight check above saw (the fetch's own: reading the global again here could take
    # a purge marked after the check for one before it), for vcl_deliver's second look.
    set beresp.http.X-Edge-Purge-Mark = var.get("purge-mark");
    return (deliver);
}

# After a purge of the object a request just fetched (vcl_deliver): fetch it again.
sub vcl_purge {
    return (restart);
}

# Deliver this response to its requester only. A 1 s hit-for-miss: requests meanwhile fetch on their
# own (no waiting behind an uncacheable object), and the next cacheable answer replaces it. No grace
# or keep: an expired hit-for-miss would otherwise shadow an older stale copy.
sub mercato_hit_for_miss {
    set beresp.uncacheable = true;
    set beresp.ttl = 1s;
    set beresp.grace = 0s;
    set beresp.keep = 0s;
    return (deliver);
}

sub vcl_backend_error {
    # Same as a 5xx: keep the stale copy for a refresh, hand over to vcl_synth for a synchronous fetch.
    if (bereq.is_bgfetch || var.get("stale-fallback") == "1") {
        return (abandon);
    }
    # Otherwise the built-in error page, never stored (Varnish would keep it 1 s for waiters).
    if (!bereq.uncacheable) {
        set beresp.uncacheable = true;
        set beresp.ttl = 1s;
        set beresp.grace = 0s;
        set beresp.keep = 0s;
    }
}
