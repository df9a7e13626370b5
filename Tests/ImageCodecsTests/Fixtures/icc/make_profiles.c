/* Writes the ICC profiles the colour-management tests tag photos with, made by Little CMS:
 *   cc make_profiles.c -llcms2 -o /tmp/make_profiles && /tmp/make_profiles
 * display-p3.icc: Display P3 (DCI-P3 primaries, D65 white, sRGB's tone curve), what phones tag;
 * srgb.icc: sRGB, for ImageMagick to convert from. */
#include <lcms2.h>
#include <stdio.h>

static int save(cmsHPROFILE profile, const char *description, const char *path) {
    cmsMLU *text = cmsMLUalloc(NULL, 1);
    cmsMLUsetASCII(text, "en", "US", description);
    cmsWriteTag(profile, cmsSigProfileDescriptionTag, text);
    cmsMLUfree(text);
    cmsMD5computeID(profile);
    int ok = cmsSaveProfileToFile(profile, path);
    cmsCloseProfile(profile);
    if (!ok) fprintf(stderr, "could not write %s\n", path);
    return ok ? 0 : 1;
}

int main(void) {
    double parameters[5] = {2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045};
    cmsToneCurve *curve = cmsBuildParametricToneCurve(NULL, 4, parameters);
    cmsToneCurve *curves[3] = {curve, curve, curve};
    cmsCIExyY white = {0.3127, 0.3290, 1};
    cmsCIExyYTRIPLE p3 = {{0.680, 0.320, 1}, {0.265, 0.690, 1}, {0.150, 0.060, 1}};
    int failed = save(cmsCreateRGBProfile(&white, &p3, curves), "Display P3", "display-p3.icc");
    failed |= save(cmsCreate_sRGBProfile(), "sRGB", "srgb.icc");
    cmsFreeToneCurve(curve);
    return failed;
}
