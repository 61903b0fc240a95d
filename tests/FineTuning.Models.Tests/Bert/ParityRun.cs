using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Models.Bert;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace FineTuning.Models.Tests.Bert;

/// <summary>The outputs of our BERT and of ONNX Runtime for one padded batch, as flat row-major arrays.</summary>
internal sealed record ParityRun(BertBatch Batch, float[] OursHidden, float[] OrtHidden, float[] OursMean, float[] OrtMean, float[] OursPooled, float[] OrtPooled)
{
    internal const int Hidden = 384;

    internal static ParityRun Compute(MiniLMFixture fixture, IReadOnlyList<string> sentences)
    {
        BertBatch batch = fixture.Tokenizer.EncodeBatch(sentences);
        int b = batch.Count, t = batch.SequenceLength;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor ids = batch.InputIds(), mask = batch.AttentionMask(), types = batch.TokenTypeIds();
        Tensor hidden = fixture.Model.forward(ids, mask, types);
        float[] oursHidden = Floats(hidden);
        float[] oursMean = Floats(BertPooling.Mean(hidden, mask));
        float[] oursPooled = Floats(fixture.Model.Pool(hidden));

        long[] Flat(Tensor x) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(x.contiguous().bytes).ToArray();
        int[] shape = [b, t];
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(Flat(ids), shape)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(Flat(mask), shape)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(Flat(types), shape)),
        };
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = fixture.Session.Run(inputs);
        float[] ortHidden = results.Single(r => r.Name == "last_hidden_state").AsTensor<float>().ToArray();
        float[] ortPooled = results.Single(r => r.Name != "last_hidden_state").AsTensor<float>().ToArray();
        float[] ortMean = MeanPool(ortHidden, Flat(mask), b, t);
        return new ParityRun(batch, oursHidden, ortHidden, oursMean, ortMean, oursPooled, ortPooled);
    }

    internal static float[] Floats(Tensor x) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(x.contiguous().bytes).ToArray();

    /// <summary>sentence-transformers' masked mean, written out by hand in doubles.</summary>
    internal static float[] MeanPool(float[] hidden, long[] mask, int batch, int length)
    {
        var result = new float[batch * Hidden];
        for (int row = 0; row < batch; row++)
        {
            double count = 0;
            var sum = new double[Hidden];
            for (int pos = 0; pos < length; pos++)
            {
                if (mask[(row * length) + pos] == 0) continue;
                count++;
                for (int h = 0; h < Hidden; h++) sum[h] += hidden[(((row * length) + pos) * Hidden) + h];
            }
            for (int h = 0; h < Hidden; h++) result[(row * Hidden) + h] = (float)(sum[h] / Math.Max(count, 1e-9));
        }
        return result;
    }

    internal static double MaxAbsDiff(float[] a, float[] b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"Lengths differ: {a.Length} vs {b.Length}.");
        return a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();
    }
}
