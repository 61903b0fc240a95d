// ImageCheck <png> <min-luminance-variance> <min-non-white-fraction> <min-colour-fraction> [<region-height>]: decodes
// the image with SkiaSharp, prints its size, luminance variance, the fraction of pixels that are not (near) white and
// the fraction that are strongly coloured (max - min channel > 100: chart lines; text and borders are grey), over the
// whole image and over the top <region-height> rows (what a reader sees first), and exits 1 when a measure is below
// its minimum in either area (a blank page, or a page whose charts did not render), 2 on bad arguments or an
// undecodable file.
using System;
using System.Globalization;
using SkiaSharp;

if (args.Length < 4) return Fail(2, "usage: ImageCheck <png> <min-variance> <min-non-white-fraction> <min-colour-fraction> [<region-height>]");
double minVariance = double.Parse(args[1], CultureInfo.InvariantCulture), minInk = double.Parse(args[2], CultureInfo.InvariantCulture);
double minColour = double.Parse(args[3], CultureInfo.InvariantCulture);
using SKBitmap? bitmap = SKBitmap.Decode(args[0]);
if (bitmap is null) return Fail(2, $"{args[0]}: not a decodable image");
int region = args.Length > 4 ? Math.Min(bitmap.Height, int.Parse(args[4], CultureInfo.InvariantCulture)) : bitmap.Height;
bool ok = true;
foreach ((string name, int rows) in new[] { ("whole image", bitmap.Height), ($"top {region} rows", region) })
{
    double sum = 0, squares = 0;
    long ink = 0, colour = 0;
    for (int y = 0; y < rows; y++)
    {
        for (int x = 0; x < bitmap.Width; x++)
        {
            SKColor c = bitmap.GetPixel(x, y);
            double l = (0.2126 * c.Red + 0.7152 * c.Green + 0.0722 * c.Blue) / 255.0;
            sum += l;
            squares += l * l;
            if (l < 0.95) ink++;
            if (Math.Max(c.Red, Math.Max(c.Green, c.Blue)) - Math.Min(c.Red, Math.Min(c.Green, c.Blue)) > 100) colour++;
        }
    }
    double n = (double)rows * bitmap.Width, mean = sum / n, variance = squares / n - mean * mean, inkFraction = ink / n, colourFraction = colour / n;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{args[0]} ({bitmap.Width}x{bitmap.Height}), {name}: luminance variance {variance:F5}, non-white {inkFraction:P2}, coloured {colourFraction:P3}"));
    ok &= variance >= minVariance && inkFraction >= minInk && colourFraction >= minColour;
}
return ok ? 0 : Fail(1, $"{args[0]}: nearly blank or without charts (minimum variance {minVariance}, non-white fraction {minInk}, coloured fraction {minColour})");

static int Fail(int code, string message)
{
    Console.Error.WriteLine(message);
    return code;
}
