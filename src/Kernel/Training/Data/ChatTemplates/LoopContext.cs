namespace Ckpt.Training.Data.ChatTemplates;

/// <summary>The `loop` variable of a for loop: index (from 1), index0, revindex, revindex0, first, last, length, previtem, nextitem, depth, cycle(...).</summary>
sealed class LoopContext(IReadOnlyList<object?> items)
{
    public int Index0 { get; set; }

    public object? Attribute(string name) => name switch
    {
        "index0" => (long)Index0,
        "index" => (long)Index0 + 1,
        "revindex" => (long)(items.Count - Index0),
        "revindex0" => (long)(items.Count - Index0 - 1),
        "first" => Index0 == 0,
        "last" => Index0 == items.Count - 1,
        "length" => (long)items.Count,
        "previtem" => Index0 > 0 ? items[Index0 - 1] : new Undefined("there is no previous item"),
        "nextitem" => Index0 + 1 < items.Count ? items[Index0 + 1] : new Undefined("there is no next item"),
        "depth" => 1L, // jinja2 counts depth for recursive loops only
        "depth0" => 0L,
        "cycle" => new TemplateFunction("loop.cycle", (args, _, _) =>
            args.Count == 0 ? throw new TemplateError("loop.cycle needs at least one item") : args[Index0 % args.Count]),
        _ => Undefined.Missing(this, name),
    };
}
