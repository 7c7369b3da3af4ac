using System.Diagnostics;
using Ckpt.Monitoring;

namespace Ckpt.Cli.Progress;

/// <summary>
/// One line redrawn in place (`\r`) at most ten times a second, never wider than the terminal so it cannot wrap:
/// `[#########---------] 47% 1.2 GB of 2.6 GB, 310 MB/s`. Used by convert, reshard, merge and `bench generate`
/// through <see cref="ForBytes"/> and by finetune through <see cref="Show"/>; thread-safe, since writers report
/// from their worker threads.
/// </summary>
public sealed class ProgressBar
{
    const int MaxBarWidth = 30, MinBarWidth = 10;
    readonly TextWriter _out;
    readonly int _columns;
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly Lock _lock = new();
    TimeSpan? _shown;
    bool _drawn;

    public ProgressBar(TextWriter output, int columns)
    {
        _out = output;
        _columns = Math.Max(20, columns);
    }

    /// <summary>A bar on <paramref name="terminal"/>, or none when stdout is not one.</summary>
    public static ProgressBar? On(Terminal? terminal, TextWriter output) => terminal is null ? null : new ProgressBar(output, terminal.Columns);

    /// <summary>
    /// A byte-progress reporter for a long write: draws only when the write is at least the terminal's
    /// <see cref="Terminal.MinimumBytes"/>; null (report nothing) when stdout is not a terminal.
    /// </summary>
    public static (IProgress<ByteProgress>? Progress, ProgressBar? Bar) ForBytes(Terminal? terminal, TextWriter output)
    {
        if (On(terminal, output) is not { } bar) return (null, null);
        return (new Reporter<ByteProgress>(p =>
        {
            if (p.Total < terminal!.MinimumBytes) return;
            double seconds = bar._clock.Elapsed.TotalSeconds;
            var rate = seconds > 0 ? $", {ByteSize.Format((long)(p.Done / seconds))}/s" : "";
            bar.Show(p.Fraction, $"{ByteSize.Format(p.Done)} of {ByteSize.Format(p.Total)}{rate}", p.Done >= p.Total);
        }), bar);
    }

    /// <summary>Redraws the line, unless it was drawn less than 0.1 s ago and this is not the last report.</summary>
    public void Show(double fraction, string text, bool last = false)
    {
        lock (_lock)
        {
            var now = _clock.Elapsed;
            if (!last && now - _shown < TimeSpan.FromSeconds(0.1)) return; // null (never drawn) compares false
            _shown = now;
            _drawn = true;
            _out.Write('\r' + Render(fraction, text, _columns));
            _out.Flush();
        }
    }

    /// <summary>Ends the line, if one was drawn, so the summary starts on its own.</summary>
    public void Done()
    {
        lock (_lock)
            if (_drawn) { _out.WriteLine(); _drawn = false; }
    }

    /// <summary>
    /// The line for a terminal <paramref name="columns"/> wide: one column short of it (a full line wraps on some
    /// terminals), padded with spaces so a shorter redraw leaves nothing of the last one; the text is cut, with an
    /// ellipsis, before the bar shrinks below 10 cells.
    /// </summary>
    public static string Render(double fraction, string text, int columns)
    {
        fraction = double.IsFinite(fraction) ? Math.Clamp(fraction, 0, 1) : 0;
        int usable = Math.Max(20, columns) - 1;
        var percent = string.Create(CultureInfo.InvariantCulture, $"{(int)Math.Floor(fraction * 100),3}%");
        // "[" bar "] " percent " " text
        int fixedWidth = 2 + 1 + percent.Length + 1;
        int barWidth = Math.Clamp(usable - fixedWidth - text.Length, MinBarWidth, MaxBarWidth);
        int room = usable - fixedWidth - barWidth;
        if (text.Length > room) text = room <= 1 ? "" : text[..(room - 1)] + "…";
        int filled = (int)Math.Floor(barWidth * fraction);
        var line = $"[{new string('#', filled)}{new string('-', barWidth - filled)}] {percent} {text}";
        return line.PadRight(usable);
    }

    /// <summary>Reports on the caller's thread, in order (Progress&lt;T&gt; would post to the thread pool).</summary>
    public sealed class Reporter<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
