namespace Ckpt.Extension.Visualisation;

/// <summary>
/// One displayed chart for a long-running cell, redrawn in place (`update_display_data`) at most once per
/// <see cref="RedrawInterval"/> and always once at the end. Progress arrives on the worker thread through
/// <see cref="IProgress{T}"/> and is only collected there; the handler's own flow publishes, so no event leaves the
/// cell's context from another thread. plotly.js rides in the first and the last output only: the first loads it
/// into the page, the last stays in the saved notebook.
/// </summary>
/// <param name="kind">The chart kind <see cref="ChartRendering"/> draws from <see cref="Input"/>.</param>
abstract class LiveChart<T>(KernelInvocationContext context, string kind) : IProgress<T>
{
    readonly string _valueId = Guid.NewGuid().ToString("N");
    int _drawn = -1;

    /// <summary>What arrived so far; lock it to read or change it (and any state a subclass keeps beside it).</summary>
    protected List<T> Items { get; } = [];

    protected KernelInvocationContext Context => context;

    /// <summary>At most one redraw per this interval.</summary>
    protected abstract TimeSpan RedrawInterval { get; }

    /// <summary>The chart's input, built while <see cref="Items"/> is locked.</summary>
    protected abstract JsonObject Input(string state);

    /// <summary>Updates published so far (the first display excluded).</summary>
    public int Updates { get; private set; }

    public void Report(T value)
    {
        lock (Items) Items.Add(value);
    }

    /// <summary>The first display, before anything has arrived.</summary>
    public void Show(string state) => Publish(state, first: true, withPlotly: true);

    /// <summary>Redraws until <paramref name="work"/> ends, no more often than <see cref="RedrawInterval"/>.</summary>
    public async Task FollowAsync(Task work)
    {
        while (!work.IsCompleted)
        {
            await Task.WhenAny(work, Task.Delay(RedrawInterval));
            int count;
            lock (Items) count = Items.Count;
            if (count != _drawn && !work.IsCompleted) Publish("running", first: false, withPlotly: false);
        }
    }

    /// <summary>
    /// Follows <paramref name="work"/> (<see cref="FollowAsync"/>) and returns what it returns. Should it fail or be
    /// stopped, the chart is finished as "failed" or "stopped" and the exception goes on to the magic's error policy.
    /// </summary>
    public async Task<TResult> ResultOfAsync<TResult>(Task<TResult> work)
    {
        await FollowAsync(work);
        try { return await work; }
        catch (OperationCanceledException)
        {
            Finish("stopped");
            throw;
        }
        catch
        {
            Finish("failed");
            throw;
        }
    }

    public void Finish(string state) => Publish(state, first: false, withPlotly: true);

    protected void Publish(string state, bool first, bool withPlotly)
    {
        JsonObject input;
        lock (Items)
        {
            _drawn = Items.Count;
            input = Input(state);
        }
        var rendered = ChartRendering.Render(kind, input);
        var chart = rendered.Charts[0];
        var html = (withPlotly ? ChartOutput.PlotlyLoader() : "") + rendered.SummaryHtml + ChartOutput.WhenPlotly(chart.Html);
        FormattedValue[] values =
        [
            new(ChartOutput.PlotlyMimeType, chart.Figure.ToJsonString()),
            new(HtmlFormatter.MimeType, html),
        ];
        if (first) context.Publish(new DisplayedValueProduced(chart.Title, context.Command, values, _valueId));
        else
        {
            context.Publish(new DisplayedValueUpdated(chart.Title, _valueId, context.Command, values));
            Updates++;
        }
    }
}
