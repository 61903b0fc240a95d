using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using FineTuning.Models.SafeTensors;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.SafeTensors;

public sealed class SafeTensorsWriterTests : IDisposable
{
    private readonly TempDirectory _dir = new("finetuning-st-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Write_FailsAfterHeader_LeavesExistingTargetAndNoTemporaryFile()
    {
        string path = _dir.File("model.safetensors");
        File.WriteAllText(path, "previous content");
        using Tensor a = torch.ones(4);
        using Tensor b = torch.ones(4);
        // The header pass reads a and b (reads 1, 2), the data pass reads a (3) and fails on b (4), after a's bytes are written.
        var tensors = new FailingDictionary(new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b }, failOnRead: 4);

        Assert.Throws<IOException>(() => SafeTensorsWriter.Write(path, tensors));

        Assert.Equal(4, tensors.Reads);
        Assert.Equal("previous content", File.ReadAllText(path));
        Assert.Equal(new[] { path }, Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void Write_CreatesMissingFolder()
    {
        string path = Path.Combine(_dir.Path, "nested", "deeper", "x.safetensors");
        using Tensor a = torch.ones(1);

        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["a"] = a });

        using var reader = SafeTensorsReader.Open(path);
        Assert.True(reader.Contains("a"));
    }

    [Fact]
    public void Write_UnsupportedDType_ThrowsArgumentExceptionNamingTensorAndWritesNothing()
    {
        string path = _dir.File("complex.safetensors");
        using Tensor c = torch.zeros(2, dtype: ScalarType.ComplexFloat32);

        var e = Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["cplx"] = c }));

        Assert.Contains("cplx", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Theory]
    [InlineData("")]
    [InlineData("__metadata__")]
    public void Write_ReservedOrEmptyName_ThrowsArgumentException(string name)
    {
        using Tensor a = torch.ones(1);

        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(_dir.File("x.safetensors"), new Dictionary<string, Tensor> { [name] = a }));
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void Write_DisposedTensor_ThrowsArgumentException()
    {
        Tensor a = torch.ones(1);
        a.Dispose();

        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(_dir.File("x.safetensors"), new Dictionary<string, Tensor> { ["a"] = a }));
    }

    [Fact]
    public void Write_TensorRequiringGrad_WritesValuesAndLeavesTensorUsable()
    {
        string path = _dir.File("grad.safetensors");
        using Tensor w = torch.tensor(new float[] { 1, 2, 3 }).requires_grad_();
        using Tensor view = w.narrow(0, 1, 2);

        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["w"] = w, ["v"] = view });

        using var reader = SafeTensorsReader.Open(path);
        using Tensor v = reader.Load("v");
        Assert.Equal(new float[] { 2, 3 }, v.data<float>().ToArray());
        Assert.False(v.requires_grad);
        Assert.False(w.IsInvalid);
    }

    /// <summary>Throws an IOException on the n-th read of a tensor through the indexer, as a disk failure would mid-write.</summary>
    private sealed class FailingDictionary(Dictionary<string, Tensor> inner, int failOnRead) : IReadOnlyDictionary<string, Tensor>
    {
        public int Reads { get; private set; }

        public Tensor this[string key]
        {
            get
            {
                if (++Reads == failOnRead) throw new IOException("simulated failure");
                return inner[key];
            }
        }

        public IEnumerable<string> Keys => inner.Keys;

        public IEnumerable<Tensor> Values => inner.Values;

        public int Count => inner.Count;

        public bool ContainsKey(string key) => inner.ContainsKey(key);

        public bool TryGetValue(string key, [MaybeNullWhen(false)] out Tensor value) => inner.TryGetValue(key, out value);

        public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => inner.GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
