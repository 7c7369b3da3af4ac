using Ckpt.Errors;
using Ckpt.Pickle;
using Ckpt.Tests.Formats;
using static Ckpt.Tests.Formats.TestPickler;

namespace Ckpt.Tests.Pickle;

/// <summary>`getattr(Class, 'NAME')`, the way Python 3.11 pickles Enum members (torch 1.13 DCP metadata), stays a name.</summary>
public class PickleGetattrTests
{
    [Fact]
    public void An_enum_member_pickled_by_name_becomes_an_inert_name()
    {
        var pickle = Dump(new Call(new Global("builtins", "getattr"),
            new Global("torch.distributed._shard.sharded_tensor.metadata", "MEM_FORMAT_ENCODING"), "TORCH_CONTIGUOUS_FORMAT"));
        var value = Assert.IsType<PyGlobal>(Unpickler.Load(pickle));
        Assert.Equal("torch.distributed._shard.sharded_tensor.metadata.MEM_FORMAT_ENCODING.TORCH_CONTIGUOUS_FORMAT", value.FullName);
    }

    [Theory]
    [InlineData("collections", "OrderedDict", "__class__")]
    [InlineData("torch", "serialization", "load")]
    [InlineData("builtins", "object", "__subclasses__")]
    public void Getattr_reaching_a_forbidden_name_is_refused(string module, string name, string attribute)
    {
        var pickle = Dump(new Call(new Global("builtins", "getattr"), new Global(module, name), attribute));
        var e = Assert.Throws<CheckpointFormatException>(() => Unpickler.Load(pickle));
        Assert.Equal(FormatErrorReason.ForbiddenPickleGlobal, e.Reason);
    }

    [Fact]
    public void Getattr_on_anything_but_a_class_name_is_refused()
    {
        var pickle = Dump(new Call(new Global("builtins", "getattr"), "some string", "join"));
        Assert.Equal(FormatErrorReason.ForbiddenPickleGlobal, Assert.Throws<CheckpointFormatException>(() => Unpickler.Load(pickle)).Reason);
    }
}
