using System.Runtime.InteropServices;

namespace Ckpt.Tests;

/// <summary>
/// CPU time of the calling thread. A bound on it holds on a machine that other builds load (wall time there
/// stretches 10x or more), so tests that check a hostile input costs little measure this, not a stopwatch.
/// Linux only (clock_gettime with CLOCK_THREAD_CPUTIME_ID); elsewhere it falls back to the process's CPU time.
/// </summary>
static class ThreadCpuTime
{
    const int ClockThreadCpuTimeId = 3;

    [StructLayout(LayoutKind.Sequential)]
    struct TimeSpec { public long Seconds; public long Nanoseconds; }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    static extern int ClockGetTime(int clock, out TimeSpec time);

    public static TimeSpan Now()
    {
        if (OperatingSystem.IsLinux() && ClockGetTime(ClockThreadCpuTimeId, out var t) == 0)
            return TimeSpan.FromTicks(t.Seconds * TimeSpan.TicksPerSecond + t.Nanoseconds / 100);
        return System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
    }

    /// <summary>Runs <paramref name="action"/>; returns the CPU time this thread spent in it and what it threw, if anything.</summary>
    public static (TimeSpan Cpu, Exception? Error) Of(Action action)
    {
        var start = Now();
        try
        {
            action();
            return (Now() - start, null);
        }
        catch (Exception e)
        {
            return (Now() - start, e);
        }
    }
}
