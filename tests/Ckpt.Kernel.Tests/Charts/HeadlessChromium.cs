using System.Diagnostics;
using System.Text.Json;

namespace Ckpt.Tests.Charts;

/// <summary>
/// Debian's chromium, headless, taking a screenshot of a local page with no network (its own network
/// namespace where `unshare -n` works) and a NetLog of every request, to tell page requests from the
/// browser's own background ones.
/// </summary>
static class HeadlessChromium
{
    public const string Binary = "/usr/bin/chromium";

    public static bool Available => File.Exists(Binary);

    public sealed record Capture(string Screenshot, IReadOnlyList<string> PageRequests, bool Offline);

    public static Capture Screenshot(string htmlFile, int width = 1200, int height = 1800)
    {
        var dir = TestPaths.TempDirectory("chromium");
        var png = Path.Combine(dir, "page.png");
        var netlog = Path.Combine(dir, "net.json");
        string[] args =
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", $"--user-data-dir={Path.Combine(dir, "profile")}",
            $"--log-net-log={netlog}", $"--window-size={width},{height}", "--virtual-time-budget=10000",
            $"--screenshot={png}", new Uri(Path.GetFullPath(htmlFile)).AbsoluteUri,
        ];
        bool offline = CanUnshareNetwork();
        var psi = offline ? new ProcessStartInfo("unshare", ["-n", Binary, .. args]) : new ProcessStartInfo(Binary, args);
        psi.RedirectStandardError = true;
        psi.RedirectStandardOutput = true;
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2))) { p.Kill(true); throw new TimeoutException("chromium did not finish in 2 minutes"); }
        if (!File.Exists(png)) throw new InvalidOperationException($"chromium wrote no screenshot (exit {p.ExitCode}): {err.Result}");
        return new Capture(png, PageRequests(netlog), offline);
    }

    /// <summary>URLs the page itself asked for: requests with an initiator origin, except the page's own file/data URLs.</summary>
    static IReadOnlyList<string> PageRequests(string netlog)
    {
        // Chromium may leave the NetLog's closing brackets off when it exits; the events array is what matters.
        var text = File.ReadAllText(netlog).TrimEnd();
        if (!text.EndsWith('}')) text = text.TrimEnd(',', '\n', ' ') + "]}";
        using var doc = JsonDocument.Parse(text);
        var types = doc.RootElement.GetProperty("constants").GetProperty("logEventTypes").EnumerateObject()
            .ToDictionary(p => p.Value.GetInt32(), p => p.Name);
        var urls = new List<string>();
        foreach (var e in doc.RootElement.GetProperty("events").EnumerateArray())
        {
            if (types.GetValueOrDefault(e.GetProperty("type").GetInt32()) != "URL_REQUEST_START_JOB") continue;
            if (!e.TryGetProperty("params", out var p) || !p.TryGetProperty("url", out var url)) continue;
            var initiator = p.TryGetProperty("initiator", out var i) ? i.GetString() : null;
            var u = url.GetString()!;
            if (initiator == "not an origin") continue; // the browser's own update and model fetches
            if (u.StartsWith("file:", StringComparison.Ordinal) || u.StartsWith("data:", StringComparison.Ordinal)) continue;
            urls.Add(u);
        }
        return urls;
    }

    static bool CanUnshareNetwork()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("unshare", ["-n", "true"]) { RedirectStandardError = true })!;
            p.WaitForExit(5000);
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }
}

/// <summary>Skipped, with the reason, where Debian's chromium is not installed; failed so under CI.</summary>
sealed class ChromiumFactAttribute() : RequiredFactAttribute(Probe())
{
    internal static string? Probe() =>
        HeadlessChromium.Available ? null : $"{HeadlessChromium.Binary} is not installed (apt-get install chromium)";
}
